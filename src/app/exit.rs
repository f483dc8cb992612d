//! How commands exit: scripts read `status` and `doctor` by their exit
//! status.

/// How a command that ran to its end exits: `status` reports the cluster's
/// state with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// `status` of a cluster with no node container.
    NotRunning,
    /// `status` of a cluster unfinished or with broken nodes.
    Unwell,
    /// `status` of a cluster whose nodes are paused.
    Paused,
    /// `doctor` found something that stops clusters.
    Problems,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::NotRunning => 3,
            Exit::Unwell => 4,
            Exit::Paused => 5,
            Exit::Problems => 1,
        }
    }
}
