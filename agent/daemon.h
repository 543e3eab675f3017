#pragma once
// `dbkeeper run`: collectors on their intervals and the HTTP endpoint, until
// SIGTERM or SIGINT.

#include "agent/config.h"

namespace dbkeeper {

// Returns the process exit code. Must be called before any other thread is
// started: it blocks the signals it waits for, and threads inherit the mask.
int run_daemon(const Config& config);

}  // namespace dbkeeper
