// The client's session over UDP: raw keyboard in, screen updates out, until
// the user detaches, the session ends, or something fails.
#pragma once

#include <string>

#include "client/bootstrap.h"

namespace roam::client {

// Runs the session; `name` is how the exit line refers to it. Returns the
// process exit status (0 after a detach or a clean end of the session).
int run_connect(const ConnectTarget& target, const std::string& name);

}  // namespace roam::client
