// balrog/http/server/static_files.hpp — answering with files from a directory.
//
//   r.static_files("/static", "/srv/www/static");        // GET /static/css/site.css
//   r.get("/report", [](hs::request& req) {
//     return hs::serve_file(req, "/var/reports", "latest.pdf");
//   });
//
// serve_file() answers a GET or HEAD for the file `relative` under `root`:
//  - The body goes out with sendfile(2): from the page cache to the socket, no copy through
//    the process. (In sync mode too.)
//  - Range (RFC 9110 §14): one range ("bytes=0-99", "bytes=100-", "bytes=-100") answers 206
//    with Content-Range; a range past the end answers 416 with "Content-Range: bytes */size";
//    several ranges, or a Range with If-Range that does not match, get the whole file (200),
//    which the RFC allows. Accept-Ranges: bytes is always sent.
//  - Validators: ETag (from size and modification time) and Last-Modified; If-None-Match and
//    If-Modified-Since answer 304 Not Modified.
//  - Content-Type from the file name's extension (text types with charset=utf-8); unknown
//    extensions are application/octet-stream.
//  - A directory answers its index.html.
//  - 404 Not Found for a file that is missing, not a regular file, unreadable, or outside
//    `root`: `relative` may not climb out with "..", and symbolic links are followed only while
//    they stay under `root` (openat2 RESOLVE_BENEATH). The 404 says nothing more, so probing
//    learns nothing about the file system.
// Opening and sizing the file are ordinary blocking system calls (fast on a local disk; put
// slow network file systems behind balrog::offload).
#pragma once

#include <filesystem>
#include <string_view>

#include "balrog/http/server/request.hpp"
#include "balrog/http/server/response.hpp"

namespace balrog::http::server {

[[nodiscard]] response serve_file(const request& req, const std::filesystem::path& root,
                                  std::string_view relative);

// The Content-Type for a file name, from its extension ("site.css" -> "text/css;
// charset=utf-8"); application/octet-stream when unknown.
[[nodiscard]] std::string_view content_type_for(std::string_view file_name) noexcept;

}  // namespace balrog::http::server
