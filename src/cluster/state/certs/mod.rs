//! Certificates that expire while a cluster sleeps in its snapshot: what
//! each node holds and until when (as the node lists it), and what to renew
//! before the cluster is used again.
//!
//! kubeadm signs the control plane's certificates and kubeconfigs for
//! `certificateValidityPeriod` (a year by default) and the controller
//! manager signs the kubelets' client certificates for as long; a running
//! cluster's kubelets rotate theirs, nothing rotates the rest. A snapshot
//! restored later than that has expired certificates, and one restored just
//! before it would fail soon after.

/// Seconds in a day.
const DAY: u64 = 24 * 3600;

/// How far before its expiry a certificate is renewed: 30 days, or a third
/// of the validity when that is shorter (so short-lived test certificates
/// are not renewed at every restore).
pub fn margin(validity: u64) -> u64 {
    (30 * DAY).min(validity / 3)
}

/// What a certificate is for, which says who can renew it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A certificate authority: ten years, renewed by nobody here.
    Authority,
    /// A kubelet's client certificate (its kubeconfig or its rotated pem).
    Kubelet,
    /// The control plane's certificates and kubeconfigs: `kubeadm certs
    /// renew all`.
    ControlPlane,
}

/// Files the kubelet authenticates with.
const KUBELET_FILES: [&str; 2] = [
    "/etc/kubernetes/kubelet.conf",
    "/var/lib/kubelet/pki/kubelet-client-current.pem",
];

/// Who renews the certificate in `path`.
pub fn holder(path: &str) -> Holder {
    let file = path.rsplit('/').next().unwrap_or(path);
    if file == "ca.crt" || file.ends_with("-ca.crt") {
        Holder::Authority
    } else if KUBELET_FILES.contains(&path) {
        Holder::Kubelet
    } else {
        Holder::ControlPlane
    }
}

/// One certificate a node holds, with its expiry (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub node: String,
    pub path: String,
    pub not_after: i64,
}

/// A node's listing (`SECONDS PATH` lines, as the node's listing script
/// prints them); lines that are not of that form are skipped.
pub fn parse_listing(node: &str, text: &str) -> Vec<Held> {
    text.lines()
        .filter_map(|line| {
            let (seconds, path) = line.trim().split_once(' ')?;
            Some(Held {
                node: node.to_string(),
                path: path.trim().to_string(),
                not_after: seconds.parse().ok()?,
            })
        })
        .collect()
}

/// The earliest expiry among certificates that are due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub path: String,
    pub not_after: i64,
}

impl Due {
    pub fn expired(&self, now: i64) -> bool {
        self.not_after <= now
    }
}

/// What to renew.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renewal {
    /// The control plane's certificates (on the master).
    pub control_plane: Option<Due>,
    /// Nodes whose kubelet client certificate is to be renewed, in the
    /// order their listings came.
    pub kubelets: Vec<(String, Due)>,
}

impl Renewal {
    pub fn is_empty(&self) -> bool {
        self.control_plane.is_none() && self.kubelets.is_empty()
    }

    /// The earliest of everything due.
    pub fn earliest(&self) -> Option<&Due> {
        self.control_plane
            .iter()
            .chain(self.kubelets.iter().map(|(_, d)| d))
            .min_by_key(|d| d.not_after)
    }
}

/// An authority that has expired: only a new cluster helps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorityExpired {
    pub node: String,
    pub path: String,
    pub not_after: i64,
}

/// What to renew, given what the nodes hold, the time and the validity
/// the cluster's certificates are made with.
pub fn decide(
    held: &[Held],
    now: i64,
    validity: u64,
) -> std::result::Result<Renewal, AuthorityExpired> {
    let horizon = now.saturating_add(i64::try_from(margin(validity)).unwrap_or(i64::MAX));
    let mut renewal = Renewal::default();
    let earlier = |due: &mut Option<Due>, h: &Held| {
        if due.as_ref().is_none_or(|d| h.not_after < d.not_after) {
            *due = Some(Due {
                path: h.path.clone(),
                not_after: h.not_after,
            });
        }
    };
    for h in held.iter().filter(|h| h.not_after < horizon) {
        match holder(&h.path) {
            Holder::Authority if h.not_after <= now => {
                return Err(AuthorityExpired {
                    node: h.node.clone(),
                    path: h.path.clone(),
                    not_after: h.not_after,
                })
            }
            Holder::Authority => {}
            Holder::ControlPlane => earlier(&mut renewal.control_plane, h),
            Holder::Kubelet => {
                let at = renewal.kubelets.iter().position(|(n, _)| *n == h.node);
                let mut due = at.map(|i| renewal.kubelets[i].1.clone());
                earlier(&mut due, h);
                let due = due.expect("set just before");
                match at {
                    Some(i) => renewal.kubelets[i].1 = due,
                    None => renewal.kubelets.push((h.node.clone(), due)),
                }
            }
        }
    }
    Ok(renewal)
}

/// `seconds` as people say it: `3 min`, `5 h`, `12 days`.
pub fn say_span(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * DAY => format!("{} h", s / 3600),
        s => format!("{} days", s / DAY),
    }
}

/// When `due` expires (or expired), seen from `now`.
pub fn say_when(due: &Due, now: i64) -> String {
    if due.expired(now) {
        format!("expired {} ago", say_span(now.abs_diff(due.not_after)))
    } else {
        format!("expires in {}", say_span(now.abs_diff(due.not_after)))
    }
}

#[cfg(test)]
mod tests;
