//! Test harness shared by the integration and end-to-end tests.
//!
//! [`moto::Moto`] starts a private `moto_server` per test on a free 127.0.0.1 port and stops it
//! when dropped (and, through `PR_SET_PDEATHSIG`, when the test process dies), so no test leaves
//! a process behind and no two tests share AWS state. [`stall::StallProxy`] sits in front of it
//! and hangs chosen requests, as a stalled AWS endpoint does. [`tools`] finds the binaries that
//! `scripts/install-tools.sh` put under `.tools/`.

pub mod lambda;
pub mod fuzz;
pub mod moto;
pub mod procfs;
pub mod stall;
pub mod strategies;
pub mod tools;

pub use lambda::{Invocation, LambdaFunction};
pub use moto::Moto;
