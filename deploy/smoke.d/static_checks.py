"""Structural checks of deploy/ that no schema validator makes: what deploy/README.md promises
about ports, networks, secrets and the Kubernetes objects. Run by deploy/smoke (which also runs
the schema validators); needs PyYAML.

    python3 static_checks.py DEPLOY_DIR COMPOSE_JSON_OFF COMPOSE_JSON_ON

COMPOSE_JSON_OFF: `docker compose config --format json` with .env as .env.example (required
values filled in, every optional line still commented out); COMPOSE_JSON_ON: the same with
every REFERRAL_DESK__ line of .env.example uncommented. Prints one line per check; exit 1 if
any failed.
"""

import json
import re
import sys
from pathlib import Path

import yaml

deploy = Path(sys.argv[1])
off = json.loads(Path(sys.argv[2]).read_text())
on = json.loads(Path(sys.argv[3]).read_text())

failures = 0
count = 0


def check(ok, what):
    global failures, count
    count += 1
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures += 1


def missing(names):
    return f" (missing: {', '.join(sorted(names))})" if names else ""


# ---- .env.example ----------------------------------------------------------------------------
example = (deploy / ".env.example").read_text()
optional = re.findall(r"^# (REFERRAL_DESK__[A-Z0-9_]+)=", example, re.M)
active = re.findall(r"^(REFERRAL_DESK__[A-Z0-9_]+)=", example, re.M)
channel_keys = {
    "REFERRAL_DESK__SLACK__SIGNING_SECRET",
    "REFERRAL_DESK__SLACK__BOT_TOKEN",
    "REFERRAL_DESK__SLACK__TEAM_ID",
    "REFERRAL_DESK__TEAMS__APP_ID",
    "REFERRAL_DESK__TEAMS__APP_PASSWORD",
    "REFERRAL_DESK__TEAMS__APP_TYPE",
    "REFERRAL_DESK__TEAMS__TENANT_ID",
    "REFERRAL_DESK__TEAMS__WEBHOOK_HMAC_KEY",
}
check(channel_keys <= set(optional),
      ".env.example lists every Slack and Teams setting, commented out (unset = off)"
      + missing(channel_keys - set(optional)))
check(not active, ".env.example sets no REFERRAL_DESK__ key by default")

# ---- compose ---------------------------------------------------------------------------------
services = off["services"]
published = {name: s.get("ports") or [] for name, s in services.items()}
check(sorted(n for n, p in published.items() if p) == ["caddy"], "compose: only caddy publishes ports")
check(sorted((str(p["published"]), p.get("protocol", "tcp")) for p in published["caddy"])
      == [("443", "tcp"), ("443", "udp"), ("80", "tcp")], "compose: caddy publishes 80/tcp, 443/tcp, 443/udp")
app = services["referral-desk"]
env_off = app.get("environment") or {}
check(not any(k.startswith(("REFERRAL_DESK__SLACK__", "REFERRAL_DESK__TEAMS__")) for k in env_off),
      "compose: with .env.example as it is, no Slack or Teams setting reaches the server")
check("REFERRAL_DESK__METRICS__BIND" not in env_off,
      "compose: metrics.bind stays at the server's default (127.0.0.1:9091, the container's loopback)")
env_on = on["services"]["referral-desk"].get("environment") or {}
check(set(optional) <= set(env_on), "compose: every REFERRAL_DESK__ line of .env.example, once set, reaches the server")
check(env_off.get("REFERRAL_DESK__SERVER__TRUSTED_PROXIES")
      == off["networks"]["edge"]["ipam"]["config"][0]["subnet"],
      "compose: the server trusts X-Forwarded-For from the edge network only")
check(off["networks"]["backend"].get("internal") is True, "compose: the backend network has no route outside")
check(set(services["postgres"]["networks"]) == {"backend"}, "compose: postgres is on the backend network only")
check(set(services["caddy"]["networks"]) == {"edge"}, "compose: caddy is not on the backend network")
for name in ("referral-desk", "caddy"):
    s = services[name]
    check(s.get("read_only") is True and s.get("cap_drop") == ["ALL"]
          and "no-new-privileges:true" in (s.get("security_opt") or []),
          f"compose: {name} has a read-only root, drops all capabilities, no-new-privileges")
check(app.get("healthcheck", {}).get("test", [None])[0] == "CMD", "compose: the server has a health check")
caddy_mounts = {v["target"]: v for v in services["caddy"].get("volumes", [])}
check(caddy_mounts.get("/etc/caddy/Caddyfile", {}).get("read_only") is True,
      "compose: caddy reads deploy/caddy/Caddyfile, read-only")

# ---- Kubernetes ------------------------------------------------------------------------------
k8s = deploy / "k8s"
docs = {}
for path in sorted(k8s.glob("*.yaml")):
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and "kind" in doc:
            docs[doc["kind"]] = doc
dep = docs["Deployment"]
pod = dep["spec"]["template"]
labels = pod["metadata"]["labels"]
container = pod["spec"]["containers"][0]
env = {e["name"]: e for e in container["env"]}
secret_refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
               if "secretKeyRef" in e.get("valueFrom", {})}
check(channel_keys <= set(secret_refs),
      "k8s: the Deployment takes every Slack and Teams setting from the Secret"
      + missing(channel_keys - set(secret_refs)))
check(all(secret_refs[k].get("optional") is True for k in channel_keys if k in secret_refs),
      "k8s: channel keys are optional in the Secret (absent = unset = off)")
secret_text = (k8s / "secret.example.yaml").read_text()
listed = set(re.findall(r"^\s*#?\s*([a-z0-9-]+):", secret_text.split("stringData:", 1)[1], re.M))
check({r["key"] for r in secret_refs.values()} <= listed,
      "k8s: secret.example.yaml names every key the Deployment reads"
      + missing({r["key"] for r in secret_refs.values()} - listed))
check(not [k for k in channel_keys if re.search(rf"^\s+{re.escape(secret_refs[k]['key'])}:", secret_text, re.M)],
      "k8s: secret.example.yaml leaves every channel key commented out")
sc = container["securityContext"]
check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
      and sc.get("capabilities", {}).get("drop") == ["ALL"] and pod["spec"]["securityContext"].get("runAsNonRoot") is True,
      "k8s: read-only root, non-root, all capabilities dropped, no privilege escalation")
check(all(p in container for p in ("startupProbe", "livenessProbe", "readinessProbe")), "k8s: startup, liveness and readiness probes")
ports = {p["name"]: p["containerPort"] for p in container["ports"]}
check(env["REFERRAL_DESK__METRICS__BIND"]["value"].endswith(f":{ports['metrics']}")
      and env["REFERRAL_DESK__SERVER__BIND"]["value"].endswith(f":{ports['http']}"),
      "k8s: the container ports match server.bind and metrics.bind")
svc = docs["Service"]
check([p["targetPort"] for p in svc["spec"]["ports"]] == ["http"] and svc["spec"]["selector"] == labels,
      "k8s: the Service exposes the http port only (no metrics) and selects the pods")
ing = docs["Ingress"]
rule_hosts = [r["host"] for r in ing["spec"]["rules"]]
tls_hosts = [h for t in ing["spec"].get("tls", []) for h in t["hosts"]]
backends = [p["backend"]["service"] for r in ing["spec"]["rules"] for p in r["http"]["paths"]]
check(rule_hosts and set(rule_hosts) <= set(tls_hosts) and all(t.get("secretName") for t in ing["spec"]["tls"]),
      "k8s: the Ingress serves every host with TLS")
check(all(b["name"] == svc["metadata"]["name"] and b["port"].get("name") == "http" for b in backends),
      "k8s: the Ingress routes to the Service's http port only")
pdb = docs["PodDisruptionBudget"]
check(pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
      and dep["spec"]["replicas"] == 2 and pdb["spec"].get("minAvailable") == 1,
      "k8s: the PodDisruptionBudget keeps 1 of the 2 replicas during drains")
np_ = docs["NetworkPolicy"]
check(np_["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
      and np_["spec"]["policyTypes"] == ["Ingress"],
      "k8s: the NetworkPolicy applies to the pods' incoming traffic")
rule_ports = sorted(p["port"] for r in np_["spec"]["ingress"] for p in r["ports"])
check(rule_ports == sorted([ports["http"], ports["metrics"]])
      and all(r.get("from") and all("namespaceSelector" in f and "podSelector" in f for f in r["from"])
              for r in np_["spec"]["ingress"]),
      "k8s: the NetworkPolicy admits the http port and the metrics port, each from one selected namespace's pods only")
kust = yaml.safe_load((k8s / "kustomization.yaml").read_text())
check(sorted(kust["resources"]) == sorted(p.name for p in k8s.glob("*.yaml")
                                          if p.name not in ("kustomization.yaml", "secret.example.yaml")),
      "k8s: kustomization.yaml lists every manifest except the Secret template")

print(f"  {count - failures} of {count} structural checks passed")
sys.exit(1 if failures else 0)
