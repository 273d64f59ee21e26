#ifndef KEYWARDEN_API_HTTP_HTTP_TYPES_H_
#define KEYWARDEN_API_HTTP_HTTP_TYPES_H_

// The request and response types handlers see. Only Beast's message headers
// are pulled in (no Asio, no parser or serializer), which keeps handler TUs
// reasonably cheap to compile.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace keywarden::api::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
using HttpStatus = boost::beast::http::status;
using Field = boost::beast::http::field;
using Verb = boost::beast::http::verb;

}  // namespace keywarden::api::http

#endif  // KEYWARDEN_API_HTTP_HTTP_TYPES_H_
