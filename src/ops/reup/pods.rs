//! Steps 4 and 5: what runs as pods, from images of the new binaries:
//! kube-proxy's DaemonSet rolled out, and the control plane's static pod
//! manifests pointed at the new images, each replaced and waited for.

use std::path::PathBuf;

use futures_util::future::try_join_all;

use super::record::record;
use super::{wait_for, Binary, Image, TIMEOUT};
use crate::cluster::{ClusterError, Ctx, Result};
use crate::engine::Engine;

const MANIFESTS: &str = "/etc/kubernetes/manifests";

/// The static pod manifest with its container's image replaced.
pub(super) fn with_image(manifest: &str, image: &str) -> Option<String> {
    let mut replaced = 0;
    let lines: Vec<String> = manifest
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            match trimmed.strip_prefix("image:") {
                Some(_) => {
                    replaced += 1;
                    let indent = &line[..line.len() - trimmed.len()];
                    format!("{indent}image: {image}")
                }
                None => line.to_string(),
            }
        })
        .collect();
    (replaced == 1).then(|| lines.join("\n") + "\n")
}

/// Where each control-plane component says it is healthy, in the master.
fn health_url(name: &str) -> &'static str {
    match name {
        "kube-apiserver" => "https://127.0.0.1:6443/readyz",
        "kube-controller-manager" => "https://127.0.0.1:10257/healthz",
        _ => "https://127.0.0.1:10259/healthz",
    }
}

/// Replaces a static pod by its new manifest (already at `staged`), in the
/// master: the old manifest is taken out of the kubelet's folder, and once
/// the kubelet has stopped the old pod the new one goes in. (Changed in
/// place, the kubelet would start the new pod only at its next resync of
/// the old one, 10-15 s later.) The old pod gets two seconds to stop, then
/// is killed: it is being replaced, and the API server would otherwise
/// drain connections for ten more. Done when a container of the new image
/// runs and the component answers its health check; on a timeout the
/// component's containers and its last log lines say why.
/// How long a restarted component has to run the new image and answer its
/// health check: wall time, not a count of tries, which a loaded machine
/// stretches (a cold `.ci/test --all` at load 17 ran out of 1200 tries in
/// under five minutes while the scheduler was still starting).
const HEALTHY_WITHIN_SECS: u32 = 600;

fn restart_script(name: &str, pod: &str, staged: &str, image: &str) -> String {
    let health = health_url(name);
    format!(
        r#"set -e
m={MANIFESTS}/{name}.yaml
old=/etc/kubernetes/.{name}.yaml.old
pod_tasks() {{
  for c in $(ctr -n k8s.io containers ls -q 'labels."io.kubernetes.pod.name"=={pod}'); do
    ctr -n k8s.io tasks ls | awk -v c="$c" '$1 == c && $3 == "RUNNING" {{ print c }}'
  done
}}
mv -f "$m" "$old"
i=0
while [ -n "$(pod_tasks)" ]; do
  i=$((i + 1))
  if [ $i -eq 20 ]; then
    for t in $(pod_tasks); do ctr -n k8s.io tasks kill -s SIGKILL "$t" 2>/dev/null || true; done
  fi
  if [ $i -ge 600 ]; then echo "the old {pod} did not stop"; mv -f "$old" "$m"; exit 1; fi
  sleep 0.1
done
mv -f {staged} "$m"
rm -f "$old"
deadline=$(( $(date +%s) + {HEALTHY_WITHIN_SECS} ))
until ctr -n k8s.io containers ls 'labels."io.kubernetes.pod.name"=={pod}' | awk '$2 == "{image}"' | grep -q . &&
      curl -sfk --max-time 2 {health} >/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "{pod} did not become healthy with {image} within {HEALTHY_WITHIN_SECS} s; its containers:"
    ctr -n k8s.io containers ls 'labels."io.kubernetes.pod.name"=={pod}' || true
    log=$(ls -t /var/log/pods/kube-system_{pod}_*/{name}/*.log 2>/dev/null | head -n 1)
    [ -z "$log" ] || {{ echo "the end of $log:"; tail -n 20 "$log"; }}
    echo "the kubelet's last words on {pod}:"
    journalctl -u kubelet --no-pager -o cat 2>/dev/null | grep -F {pod} | tail -n 30 || true
    exit 1
  fi
  sleep 0.2
done
"#
    )
}

/// Whether a kubelet's metrics show it has cleaned up its pods at least
/// once since it started: it does so only once every source of pods (its
/// manifest folder, the API server) has given it a full list, and sets
/// `kubelet_desired_pods` there first.
pub(super) fn kubelet_has_synced(metrics: &str) -> bool {
    metrics
        .lines()
        .any(|line| line.starts_with("kubelet_desired_pods{"))
}

/// Waits until the master's kubelet has heard from all its pod sources.
/// Until then it ignores a removed manifest ("sources aren't ready"), so
/// the old pod is not stopped by it, and the new one of the same name
/// waits for its volumes for minutes (kubernetes#116880; tried: a manifest
/// swapped 0.5 s after `systemctl restart kubelet` ran after 3 minutes at
/// load 10, the cold `--all` runs at load 17 gave up after 10; swapped
/// once the kubelet has synced, it runs within 4 s). A kubelet just
/// restarted (step 3, or a restore) is in that state for a few seconds,
/// longer on a loaded machine.
async fn kubelet_synced<E: Engine>(cx: Ctx<'_, E>, step: &crate::ui::Step<'_>) -> Result<()> {
    let master = cx.plan.master();
    let path = format!("/api/v1/nodes/{}/proxy/metrics", master.name);
    let kubectl = cx.kubectl();
    let what = format!(
        "the kubelet of {} to have all its pods' sources",
        master.name
    );
    wait_for(&what, step, || async {
        let metrics = kubectl.run(&["get", "--raw", &path]).await?;
        Ok(kubelet_has_synced(&metrics)
            .then_some(())
            .ok_or_else(|| format!("the kubelet of {} is still syncing its pods", master.name)))
    })
    .await
}

/// Step 5: the control-plane components' images into the master and their
/// manifests pointed at them, all at once (the others wait for the API
/// server by themselves); each done when it runs the new image, is healthy,
/// and its mirror pod in the API reports it.
pub(super) async fn replace_static_pods<E: Engine>(
    cx: Ctx<'_, E>,
    pods: &[(&Binary, &Image)],
) -> Result<()> {
    let master = cx.plan.master();
    let names: Vec<&str> = pods.iter().map(|(b, _)| b.name.as_str()).collect();
    let step = cx.ui.step(format!(
        "Restarting {} with the new build",
        names.join(", ")
    ));
    let archives: Vec<PathBuf> = pods.iter().map(|(_, i)| i.archive.clone()).collect();
    crate::cluster::steps::images::import_archives_into(
        cx,
        &archives,
        std::slice::from_ref(&master.container),
    )
    .await?;
    kubelet_synced(cx, &step).await?;
    let mut scripts = Vec::new();
    for (binary, image) in pods {
        let name = &binary.name;
        let path = format!("{MANIFESTS}/{name}.yaml");
        let manifest = cx.engine.read_file(&master.container, &path).await?;
        let text = String::from_utf8_lossy(&manifest);
        let updated =
            with_image(&text, &image.reference).ok_or_else(|| ClusterError::Manifest {
                path: path.clone(),
                node: master.name.clone(),
            })?;
        let staged = format!("/etc/kubernetes/.{name}.yaml.new");
        cx.engine
            .write_file(&master.container, &staged, 0o600, updated.as_bytes())
            .await?;
        let pod = format!("{name}-{}", master.name);
        scripts.push((
            name.as_str(),
            restart_script(name, &pod, &staged, &image.reference),
        ));
    }
    try_join_all(scripts.iter().map(|(name, script)| async move {
        cx.engine
            .sh(&master.container, script)
            .await
            .map_err(|source| ClusterError::Restart {
                what: name.to_string(),
                source,
            })
    }))
    .await?;
    // The mirror pods in the API report the new containers a few seconds
    // later; until then `kubectl logs` of them fails. Done when they do.
    let kubectl = cx.kubectl();
    wait_for("the control plane's pods in the API", &step, || async {
        let mut behind = Vec::new();
        for (binary, image) in pods {
            let pod = format!("{}-{}", binary.name, master.name);
            let mirror: crate::cluster::steps::kubectl::Pod = kubectl
                .json(&["-n", "kube-system", "get", "pod", &pod])
                .await?;
            if !mirror.runs(&image.reference) {
                behind.push(pod);
            }
        }
        Ok(behind.is_empty().then_some(()).ok_or(format!(
            "{} not yet reported with the new image",
            behind.join(", ")
        )))
    })
    .await?;
    let binaries: Vec<&Binary> = pods.iter().map(|(b, _)| *b).collect();
    record(cx, &binaries).await?;
    step.done();
    Ok(())
}

/// Step 4: kube-proxy's image into every node, the DaemonSet updated and
/// rolled out.
pub(super) async fn replace_kube_proxy<E: Engine>(
    cx: Ctx<'_, E>,
    binary: &Binary,
    image: &Image,
) -> Result<()> {
    let step = cx.ui.step("Rolling kube-proxy out with the new build");
    let nodes: Vec<String> = cx.plan.nodes.iter().map(|n| n.container.clone()).collect();
    crate::cluster::steps::images::import_archives_into(
        cx,
        std::slice::from_ref(&image.archive),
        &nodes,
    )
    .await?;
    let kubectl = cx.kubectl();
    kubectl
        .run(&[
            "-n",
            "kube-system",
            "set",
            "image",
            "daemonset/kube-proxy",
            &format!("kube-proxy={}", image.reference),
        ])
        .await?;
    kubectl
        .run(&[
            "-n",
            "kube-system",
            "rollout",
            "status",
            "daemonset/kube-proxy",
            &format!("--timeout={}s", TIMEOUT.as_secs()),
        ])
        .await?;
    record(cx, &[binary]).await?;
    step.done();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_kubelet_has_synced_once_it_counts_its_desired_pods() {
        let starting = "# HELP kubelet_desired_pods [ALPHA] The number of pods ...\n\
                        # TYPE kubelet_desired_pods gauge\n\
                        kubelet_running_pods 7\n";
        assert!(!super::kubelet_has_synced(starting));
        let synced = format!(
            "{starting}kubelet_desired_pods{{static=\"\"}} 3\n\
                              kubelet_desired_pods{{static=\"true\"}} 4\n"
        );
        assert!(super::kubelet_has_synced(&synced));
    }

    #[test]
    fn the_restart_script_is_valid_shell() {
        let script = super::restart_script(
            "kube-scheduler",
            "kube-scheduler-kube-master",
            "/etc/kubernetes/.kube-scheduler.yaml.new",
            "registry.k8s.io/kube-scheduler:v1.37.2-dirty-47775218d7e9",
        );
        let out = std::process::Command::new("sh")
            .args(["-n", "-c", &script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(script.contains("within 600 s"), "{script}");
    }
}
