// balrog/http/server.hpp — the HTTP server part of balrog::http in one include:
// server, router, request, response, options, middleware, static files, errors. See
// docs/http.md; each header below is the manual for its part.
#pragma once

#include "balrog/http/server/errors.hpp"
#include "balrog/http/server/middleware.hpp"
#include "balrog/http/server/options.hpp"
#include "balrog/http/server/request.hpp"
#include "balrog/http/server/response.hpp"
#include "balrog/http/server/router.hpp"
#include "balrog/http/server/server.hpp"
#include "balrog/http/server/static_files.hpp"
