// tls::Trust's loading errors; verification itself is proven over real TLS in the operator's
// client test and the sidecar's provider test.
#include "common/tls_trust.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace agentry {
namespace {

TEST(TlsTrust, ABundleWithoutCertificatesIsAnError) {
  auto t = tls::Trust::from_pem("not a certificate");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  EXPECT_NE(t.status().message().find("no PEM certificate"), std::string::npos);

  auto missing = tls::Trust::from_file("/nonexistent/ca.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/ca.pem"), std::string::npos);

  std::string path = ::testing::TempDir() + "/empty-bundle.pem";
  std::ofstream(path) << "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n";
  auto garbage = tls::Trust::from_file(path);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find(path), std::string::npos);
  std::remove(path.c_str());
}

TEST(TlsTrust, SystemRootsLoadAndErrorsDescribeTheirCause) {
  EXPECT_TRUE(tls::Trust::system_roots().ok());
  tls::clear_last_failure();
  EXPECT_EQ(tls::describe(httplib::Error::SSLConnection), "SSLConnection");
  EXPECT_EQ(tls::describe(httplib::Error::Read), httplib::to_string(httplib::Error::Read));
}

}  // namespace
}  // namespace agentry
