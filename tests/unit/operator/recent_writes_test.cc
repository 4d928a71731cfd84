// runtime::RecentWrites: read-your-writes over the informer cache.
#include "operator/runtime/recent_writes.h"

#include <gtest/gtest.h>

namespace agentry::runtime {
namespace {

using nlohmann::json;

ObjectPtr obj(const std::string& uid, const std::string& rv, int marker = 0) {
  return std::make_shared<const json>(json{
      {"metadata", {{"namespace", "ns"}, {"name", "w"}, {"uid", uid}, {"resourceVersion", rv}}},
      {"status", {{"marker", marker}}}});
}

TEST(RecentWrites, AWriteNewerThanTheCacheIsReadUntilTheCacheCatchesUp) {
  RecentWrites rw;
  rw.remember(*obj("u", "12", 1));
  EXPECT_EQ((*rw.fresher("ns/w", obj("u", "10")))["status"]["marker"], 1);
  // The watch delivered it (or something later): the cached copy, and the entry is gone.
  EXPECT_EQ((*rw.fresher("ns/w", obj("u", "12", 2)))["status"]["marker"], 2);
  EXPECT_EQ((*rw.fresher("ns/w", obj("u", "10", 3)))["status"]["marker"], 3);
}

TEST(RecentWrites, AReplacedOrDeletedObjectForgetsTheWrite) {
  RecentWrites rw;
  rw.remember(*obj("old", "50", 1));
  EXPECT_EQ((*rw.fresher("ns/w", obj("new", "20", 2)))["status"]["marker"], 2);
  rw.remember(*obj("u", "60", 1));
  EXPECT_EQ(rw.fresher("ns/w", nullptr), nullptr);
  EXPECT_EQ((*rw.fresher("ns/w", obj("u", "30", 4)))["status"]["marker"], 4);
  rw.remember(*obj("u", "not-a-number", 1));
  EXPECT_EQ((*rw.fresher("ns/w", obj("u", "30", 5)))["status"]["marker"], 5);
}

}  // namespace
}  // namespace agentry::runtime
