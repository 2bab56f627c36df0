// The client's session over UDP: raw keyboard in, screen updates out, until
// the user detaches, the session ends, or something fails.
#pragma once

#include <string>

#include "client/bootstrap.h"
#include "client/prediction.h"

namespace roam::client {

// How the client behaves, from the command line's global options.
struct ClientOptions {
  // Rows that scroll off the session's primary screen are written into the
  // local terminal's scrollback; after a gap, at most the newest lines.
  bool native_scrollback = true;
  uint64_t native_scrollback_lines = 1000;
  // Predictive local echo (client/prediction.h): when to show it, and
  // whether a recognised shell prompt starts trusted predictions.
  PredictMode predict = PredictMode::adaptive;
  bool predict_at_prompts = true;
};

// Runs the session; `name` is how the exit line refers to it. Returns the
// process exit status (0 after a detach or a clean end of the session).
int run_connect(const ConnectTarget& target, const std::string& name, const ClientOptions& options);

}  // namespace roam::client
