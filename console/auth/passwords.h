// Password hashes in crypt(5) form, made and checked by libxcrypt (Debian's libcrypt), the library
// behind /etc/shadow: yescrypt (`$y$`, Debian's default), scrypt (`$7$`) and bcrypt (`$2b$`,
// `$2y$`). Only these slow, salted schemes are accepted: an account whose hash is MD5 or SHA-crypt
// (or plain text) is refused when the accounts are read, so it can never log in by accident.
//
//   std::string h = *hash_password("s3cret");      // "$y$j9T$..."
//   bool ok = password_matches("s3cret", h);        // true
//
// Pure functions; thread-safe (each call has its own crypt_data).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace agentry::console {

// Whether hash names a scheme we accept (see above) and has the shape of one.
bool is_accepted_hash(std::string_view hash);

// A new hash of password with a fresh random salt; scheme_prefix is "$y$" (default), "$7$" or
// "$2b$". kInvalidArgument for another scheme, a password with a NUL byte or over 4 KiB.
Result<std::string> hash_password(std::string_view password,
                                  std::string_view scheme_prefix = "$y$");

// Whether password hashes to hash. False for a hash that is not accepted. The comparison takes
// the same time wherever the two differ.
bool password_matches(std::string_view password, const std::string& hash);

}  // namespace agentry::console
