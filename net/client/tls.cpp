#include "net/client/tls.hpp"

#include <openssl/x509_vfy.h>

namespace nyxgate::net::detail {

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string describe_tls_failure(error_code ec, SSL* ssl) {
  std::string out;
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    out = reason ? reason : ec.message();
  } else {
    out = ec.message();
  }
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    out += ": ";
    out += X509_verify_cert_error_string(verify);
  }
  return out;
}

}  // namespace nyxgate::net::detail
