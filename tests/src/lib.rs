//! Black-box end-to-end tests of OpenHMIS live in `tests/`: each spawns the server on port 0
//! over a fresh database and talks to it with real gRPC clients.

pub mod tidy;
