// serve_file(): ranges, validators, index.html, content types, and refusing to leave the root.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "balrog/http/server.hpp"
#include "support/memory_connection.hpp"

namespace hs = balrog::http::server;
namespace fs = std::filesystem;
using hs::test::serve_bytes;
using hs::test::split_responses;

namespace {

class StaticFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/balrog-static-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ / "www";
    fs::create_directories(root_ / "sub");
    write(root_ / "a.txt", "0123456789abcdefghij");
    write(root_ / "sub" / "index.html", "<p>index</p>");
    write(root_ / "style.CSS", "p{}");
    write(base_ / "secret.txt", "secret");
    fs::create_symlink(base_ / "secret.txt", root_ / "escape.txt");
    fs::create_symlink("a.txt", root_ / "inside.txt");
    ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0600), 0);
    router_.static_files("/static", root_);
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

  hs::test::parsed_response get(const std::string& target, const std::string& extra = "") {
    const auto out = split_responses(
        serve_bytes(router_, "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n"));
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? hs::test::parsed_response{} : out[0];
  }

  fs::path base_;
  fs::path root_;
  hs::router router_;
};

TEST_F(StaticFiles, ServesWholeFilesWithTypeAndValidators) {
  const auto r = get("/static/a.txt");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "0123456789abcdefghij");
  EXPECT_NE(r.head.find("Content-Type: text/plain; charset=utf-8"), std::string::npos);
  EXPECT_NE(r.head.find("Accept-Ranges: bytes"), std::string::npos);
  EXPECT_NE(r.head.find("ETag: \""), std::string::npos);
  EXPECT_NE(r.head.find("Last-Modified: "), std::string::npos);
  EXPECT_NE(get("/static/style.CSS").head.find("text/css"), std::string::npos);
  EXPECT_EQ(get("/static/sub/").body, "<p>index</p>");
  EXPECT_EQ(get("/static/sub").body, "<p>index</p>");
  EXPECT_EQ(get("/static/inside.txt").body, "0123456789abcdefghij");
}

TEST_F(StaticFiles, AnswersOneRangeWith206AndAnImpossibleOneWith416) {
  auto r = get("/static/a.txt", "Range: bytes=2-5\r\n");
  EXPECT_EQ(r.status, 206u);
  EXPECT_EQ(r.body, "2345");
  EXPECT_NE(r.head.find("Content-Range: bytes 2-5/20"), std::string::npos);
  EXPECT_EQ(get("/static/a.txt", "Range: bytes=15-\r\n").body, "fghij");
  EXPECT_EQ(get("/static/a.txt", "Range: bytes=-3\r\n").body, "hij");
  EXPECT_EQ(get("/static/a.txt", "Range: bytes=18-100\r\n").body, "ij");
  r = get("/static/a.txt", "Range: bytes=20-\r\n");
  EXPECT_EQ(r.status, 416u);
  EXPECT_NE(r.head.find("Content-Range: bytes */20"), std::string::npos);
  EXPECT_EQ(get("/static/a.txt", "Range: bytes=0-1,4-5\r\n").status, 200u);  // several: whole
  EXPECT_EQ(get("/static/a.txt", "Range: lines=1-2\r\n").status, 200u);
  EXPECT_EQ(get("/static/a.txt", "Range: bytes=1-2\r\nIf-Range: \"other\"\r\n").status, 200u);
}

TEST_F(StaticFiles, ConditionalRequestsAnswer304) {
  const auto first = get("/static/a.txt");
  const std::size_t at = first.head.find("ETag: ");
  ASSERT_NE(at, std::string::npos);
  const std::string etag = first.head.substr(at + 6, first.head.find("\r\n", at) - at - 6);
  auto r = get("/static/a.txt", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(r.status, 304u);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(get("/static/a.txt", "If-None-Match: \"nope\", W/" + etag + "\r\n").status, 304u);
  EXPECT_EQ(get("/static/a.txt", "If-None-Match: \"nope\"\r\n").status, 200u);
  EXPECT_EQ(get("/static/a.txt", "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n").status,
            304u);
  EXPECT_EQ(get("/static/a.txt", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n").status,
            200u);
}

TEST_F(StaticFiles, NeverLeavesTheRoot) {
  for (const char* target :
       {"/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/sub/../../secret.txt",
        "/static/escape.txt", "/static/missing", "/static/fifo", "/static/a.txt%00.png",
        "/static//etc/passwd"}) {
    const auto r = get(target);
    EXPECT_EQ(r.status, 404u) << target;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << target;
  }
}

TEST(ContentTypes, ComeFromTheExtension) {
  EXPECT_EQ(hs::content_type_for("x.json"), "application/json");
  EXPECT_EQ(hs::content_type_for("a/b.PNG"), "image/png");
  EXPECT_EQ(hs::content_type_for("noext"), "application/octet-stream");
  EXPECT_EQ(hs::content_type_for("dir.d/noext"), "application/octet-stream");
  EXPECT_EQ(hs::content_type_for("x.verylongextension"), "application/octet-stream");
}

}  // namespace
