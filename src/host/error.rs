//! Why this machine's sockets could not be read.

/// Why the socket table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("the kernel's socket table (sock_diag netlink) could not be read: {0}")]
    Netlink(std::io::Error),
    #[error("the kernel answered the socket dump with a message that does not parse: {0}")]
    Malformed(String),
    #[error("{path} could not be read: {source}")]
    Proc { path: String, source: std::io::Error },
    #[error(
        "the kernel's socket table is read on Linux only (on macOS `netstat -an -p tcp` and `lsof -iTCP` show it; \
         on Windows `netstat -ano`)"
    )]
    Unsupported,
}
