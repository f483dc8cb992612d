//! The label schema: every `io.kubeadm-local-cluster.*` label the tool puts
//! on engine objects, and the values of the role label. Labels are the
//! tool's only state store (no state file to go stale), so what they mean
//! is written down here, once.

// On everything.

/// On everything the tool creates for a cluster; its value is the cluster
/// name. `down` and `clean` remove what carries it.
pub const LABEL_CLUSTER: &str = "io.kubeadm-local-cluster.cluster";
/// What an object is for: one of the `ROLE_*` values.
pub const LABEL_ROLE: &str = "io.kubeadm-local-cluster.role";

// Roles.

/// A node container.
pub const ROLE_NODE: &str = "node";
/// A node's /var volume, kept by `down` for the snapshot.
pub const ROLE_NODE_VAR: &str = "node-var";
/// The cluster's network.
pub const ROLE_NETWORK: &str = "network";
/// The throwaway container that finds out whether `--privileged` works.
pub const ROLE_PROBE: &str = "probe";
/// A node's committed snapshot image.
pub const ROLE_SNAPSHOT: &str = "snapshot";
/// A node image (bare or not).
pub const ROLE_NODE_IMAGE: &str = "node-image";
/// A container that builds part of a node image.
pub const ROLE_IMAGE_BUILD: &str = "image-build";
/// The local registry's image, container and data volume.
pub const ROLE_REGISTRY_IMAGE: &str = "registry-image";
pub const ROLE_REGISTRY: &str = "registry";
pub const ROLE_REGISTRY_DATA: &str = "registry-data";

// Node containers and snapshots.

/// A node's role in Kubernetes (`control-plane`, `worker`).
pub const LABEL_NODE_ROLE: &str = "io.kubeadm-local-cluster.node-role";
/// The fingerprint of the settings a node or snapshot was made for.
pub const LABEL_FINGERPRINT: &str = "io.kubeadm-local-cluster.fingerprint";
/// The Kubernetes node name of a node container or snapshot image.
pub const LABEL_NODE_NAME: &str = "io.kubeadm-local-cluster.node";
/// JSON of the settings a snapshot was made for, kept to explain a mismatch.
pub const LABEL_FIELDS: &str = "io.kubeadm-local-cluster.fingerprint-fields";
/// The host port the API server was published on when the snapshot was made.
pub const LABEL_API_PORT: &str = "io.kubeadm-local-cluster.apiserver-port";
/// How the nodes ran (so a restore on the same engine need not probe again).
pub const LABEL_RUN_MODE: &str = "io.kubeadm-local-cluster.run-mode";

// Node images.

/// The hash of an image's inputs.
pub const LABEL_INPUTS: &str = "io.kubeadm-local-cluster.inputs";
/// The Kubernetes version inside a node image.
pub const LABEL_KUBERNETES_VERSION: &str = "io.kubeadm-local-cluster.kubernetes-version";
/// Where a node image's Kubernetes binaries came from.
pub const LABEL_BINARIES: &str = "io.kubeadm-local-cluster.binaries";
/// The layout generation of a node image: an image of another generation
/// was made by a tool that set nodes up differently.
pub const LABEL_FORMAT: &str = "io.kubeadm-local-cluster.format";
/// The images preloaded in a node image.
pub const LABEL_PRELOADED: &str = "io.kubeadm-local-cluster.preloaded-images";

// Images assembled from files (component and test images).

/// On an image assembled by the tool from files rather than built.
pub const LABEL_ASSEMBLED: &str = "io.kubeadm-local-cluster.assembled";
/// The reference a test image was made for, so images made from the same
/// files under two tags (agnhost's current and previous) differ.
pub const LABEL_E2E_IMAGE: &str = "io.kubeadm-local-cluster.e2e-image";

// The local registry.

/// On the registry's container and volume; its value is the cluster name.
/// Not [`LABEL_CLUSTER`]: what carries that is removed by `down`, and the
/// registry outlives `down`.
pub const LABEL_REGISTRY: &str = "io.kubeadm-local-cluster.registry";
/// The host port the registry container was made for.
pub const LABEL_REGISTRY_PORT: &str = "io.kubeadm-local-cluster.registry-port";
/// The cluster network's subnet the registry container was made for.
pub const LABEL_REGISTRY_SUBNET: &str = "io.kubeadm-local-cluster.registry-subnet";

// Named snapshots (`snapshot save NAME`).

/// On a named snapshot's images and volumes; its value is the cluster name.
/// Not [`LABEL_CLUSTER`] (set empty on its images, whose node containers
/// carried it): what carries that goes with `down` and `clean`, and named
/// snapshots outlive both (`clean --all` removes them).
pub const LABEL_SAVED_FROM: &str = "io.kubeadm-local-cluster.saved-from";
/// The name a snapshot was saved under.
pub const LABEL_SNAPSHOT_NAME: &str = "io.kubeadm-local-cluster.snapshot-name";
/// When it was saved, in seconds since the Unix epoch.
pub const LABEL_SAVED_AT: &str = "io.kubeadm-local-cluster.saved-at";
/// The size of the node's /var as saved, in bytes.
pub const LABEL_VAR_BYTES: &str = "io.kubeadm-local-cluster.var-bytes";
/// A node's image in a named snapshot.
pub const ROLE_SAVED_SNAPSHOT: &str = "saved-snapshot";
/// A copy of a node's /var in a named snapshot.
pub const ROLE_SAVED_VAR: &str = "saved-var";
