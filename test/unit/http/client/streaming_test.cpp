// Large bodies piece by piece: stream = true with next_chunk() / read_all(), on_chunk, and a
// channel with a slow consumer (the transfer pauses while the channel is full).
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "balrog/fiber.hpp"
#include "balrog/http/client.hpp"
#include "balrog/run.hpp"
#include "balrog/sync/channel.hpp"
#include "balrog/this_fiber.hpp"
#include "support/client_helpers.hpp"
#include "support/peers.hpp"

using namespace std::chrono_literals;
namespace http = balrog::http;
using balrog::test::fetch;
using balrog::test::is_pattern;
using balrog::test::python_peer;

namespace {

constexpr std::size_t big = 3'000'000;  // more than the stream's 256 KiB queue: it must pause

TEST(HttpStreaming, NextChunkReadsTheBodyInPieces) {
  balrog::run([] {
    http::response r =
        fetch("GET", python_peer::url("/chunked/" + std::to_string(big) + "?pieces=40&ms=2"),
              {.stream = true});
    EXPECT_EQ(r.status(), 200);
    EXPECT_TRUE(r.streaming());
    EXPECT_EQ(r.text(), "");
    std::string body;
    int pieces = 0;
    while (std::optional<std::string> piece = balrog::await(r.next_chunk(5s))) {
      body += *piece;
      ++pieces;
      if (pieces % 50 == 0) balrog::this_fiber::sleep_for(5ms);  // a slow reader
    }
    EXPECT_FALSE(r.streaming());
    EXPECT_EQ(body.size(), big);
    EXPECT_TRUE(is_pattern(body));
    EXPECT_GT(pieces, 1);
    EXPECT_EQ(balrog::await(r.next_chunk()), std::nullopt);  // stays at the end
  });
}

TEST(HttpStreaming, ReadAll) {
  balrog::run([] {
    http::response r =
        fetch("GET", python_peer::url("/bytes/" + std::to_string(big)), {.stream = true});
    balrog::await(r.read_all());
    EXPECT_EQ(r.text().size(), big);
    EXPECT_TRUE(is_pattern(r.text()));
  });
}

TEST(HttpStreaming, ASmallBodyMayBeCompleteAlready) {
  balrog::run([] {
    http::response r = fetch("GET", python_peer::url("/bytes/10"), {.stream = true});
    std::string body;
    while (auto piece = balrog::await(r.next_chunk())) body += *piece;
    EXPECT_EQ(body.size(), 10u);
    // A complete response gives its body once through next_chunk too.
    http::response full = fetch("GET", python_peer::url("/bytes/10"));
    EXPECT_EQ(balrog::await(full.next_chunk()), full.text());
    EXPECT_EQ(balrog::await(full.next_chunk()), std::nullopt);
  });
}

TEST(HttpStreaming, AFailureMidBodyReachesTheReader) {
  balrog::run([] {
    http::response r = fetch("GET", python_peer::url("/reset-mid-body"), {.stream = true});
    EXPECT_EQ(r.status(), 200);
    std::size_t got = 0;
    try {
      while (auto piece = balrog::await(r.next_chunk(5s))) got += piece->size();
      ADD_FAILURE() << "the body ended normally";
    } catch (const http::connection_error& e) {
      EXPECT_NE(std::string(e.what()).find("/reset-mid-body"), std::string::npos) << e.what();
    }
    EXPECT_LE(got, 1000u);
  });
}

TEST(HttpStreaming, DroppingAStreamStopsItsTransfer) {
  balrog::run([] {
    {
      http::response r =
          fetch("GET", python_peer::url("/chunked/1000000?pieces=100&ms=20"), {.stream = true});
      (void)balrog::await(r.next_chunk(5s));
    }  // abandoned here
    EXPECT_EQ(fetch("GET", python_peer::url("/status/200")).status(), 200);
  });
}

TEST(HttpStreaming, OnChunk) {
  balrog::run([] {
    std::string body;
    int calls = 0;
    http::response r = fetch("GET", python_peer::url("/chunked/500000?pieces=10"),
                             {.on_chunk = [&](std::string_view piece) {
                               body += piece;
                               ++calls;
                             }});
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(r.text(), "");
    EXPECT_EQ(body.size(), 500000u);
    EXPECT_TRUE(is_pattern(body));
    EXPECT_GT(calls, 1);
  });
}

TEST(HttpStreaming, ChannelWithASlowConsumer) {
  balrog::run([] {
    balrog::channel<std::string> pieces(2);
    std::string body;
    auto consumer = balrog::spawn([&] {
      for (std::string piece : pieces) {
        body += piece;
        balrog::this_fiber::sleep_for(1ms);
      }
    });
    http::response r =
        fetch("GET", python_peer::url("/bytes/" + std::to_string(big)), {.body_channel = &pieces});
    consumer.join();  // the channel was closed after the last piece
    EXPECT_EQ(r.status(), 200);
    EXPECT_EQ(body.size(), big);
    EXPECT_TRUE(is_pattern(body));
  });
}

TEST(HttpStreaming, TheChannelIsClosedWhenTheRequestFails) {
  balrog::run([] {
    balrog::channel<std::string> pieces(16);
    EXPECT_THROW(fetch("GET", python_peer::url("/reset-mid-body"), {.body_channel = &pieces}),
                 http::connection_error);
    std::size_t got = 0;
    while (auto piece = pieces.try_pop()) got += piece->size();
    EXPECT_LE(got, 1000u);
    EXPECT_EQ(pieces.pop(), std::nullopt);  // closed
  });
}

}  // namespace
