// balrog/http/websocket.hpp — WebSocket connections (server routes and clients) and the hub,
// in one include. See docs/http.md; each header below is the manual for its part.
#pragma once

#include "balrog/http/websocket/client.hpp"
#include "balrog/http/websocket/connection.hpp"
#include "balrog/http/websocket/errors.hpp"
#include "balrog/http/websocket/hub.hpp"
#include "balrog/http/websocket/options.hpp"
