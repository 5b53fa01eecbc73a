// Offline checks of deploy/ (run by scripts/validate-deploy.sh, which installs this folder's
// packages): node validate.mjs REPO_ROOT WORK_DIR
//
// Kubernetes (deploy/kubernetes): every resource that kustomization.yaml lists, and nothing
// else, is checked twice against the schemas generated from the Kubernetes OpenAPI spec
// (kubernetes-models) and, for the ServiceMonitor, from the Prometheus Operator's CRDs
// (@kubernetes-models/prometheus-operator):
//   1. their JSON-schema validators: types, required fields, formats;
//   2. their TypeScript interfaces, with each resource written out as a typed object literal
//      and compiled with tsc: excess-property checking rejects unknown (misspelt) fields, which
//      the JSON schemas allow.
// Then the properties this project depends on: probes, the drain timing, the security context.
//
// Docker (deploy/docker/Dockerfile): dockerfile-utils' linter (syntax, arguments, instruction
// rules), then the image's policy: glibc base, numeric non-root USER, exec-form ENTRYPOINT,
// STOPSIGNAL SIGTERM, a HEALTHCHECK on /health/live, the volumes, no package installed.
//
// Prints one line per check; exits 1 if any failed.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { DockerfileParser } from "dockerfile-ast";
import { validate as lintDockerfile } from "dockerfile-utils";

const [root, work] = process.argv.slice(2);
if (!root || !work) {
  console.error("usage: node validate.mjs REPO_ROOT WORK_DIR");
  process.exit(2);
}
let failures = 0;
const ok = (what) => console.log(`ok    ${what}`);
const fail = (what) => {
  failures++;
  console.log(`FAIL  ${what}`);
};
const check = (condition, what) => (condition ? ok(what) : fail(what));

await kubernetes(join(root, "deploy/kubernetes"));
docker(join(root, "deploy/docker/Dockerfile"));
process.exit(failures === 0 ? 0 : 1);

/** The module of a resource's model class: kubernetes-models/apps/v1/Deployment etc. */
function modelPath(resource) {
  const [group, version] = resource.apiVersion.includes("/")
    ? resource.apiVersion.split("/")
    : ["", resource.apiVersion];
  const pkg =
    group === "monitoring.coreos.com" ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
  return `${pkg}/${group ? `${group}/` : ""}${version}/${resource.kind}`;
}

async function kubernetes(dir) {
  const kustomization = parse(readFileSync(join(dir, "kustomization.yaml"), "utf8"));
  const listed = kustomization.resources ?? [];
  const present = readdirSync(dir).filter(
    (f) => (f.endsWith(".yaml") || f.endsWith(".yml")) && f !== "kustomization.yaml",
  );
  const unlisted = present.filter((f) => !listed.includes(f));
  const missing = listed.filter((f) => !present.includes(f));
  check(
    unlisted.length === 0 && missing.length === 0,
    `kustomization.yaml lists every manifest${unlisted.length ? `; not listed: ${unlisted}` : ""}${
      missing.length ? `; missing: ${missing}` : ""
    }`,
  );

  const resources = [];
  rmSync(join(work, "ts"), { recursive: true, force: true });
  mkdirSync(join(work, "ts"), { recursive: true });
  const tsFiles = [];
  for (const file of listed.filter((f) => present.includes(f))) {
    const typed = [];
    let n = 0;
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      if (doc.errors.length > 0) {
        fail(`${file}: YAML: ${doc.errors[0].message}`);
        continue;
      }
      const resource = doc.toJS();
      if (resource == null) continue;
      const what = `${file}: ${resource.kind}/${resource.metadata?.name}`;
      let model;
      try {
        model = await import(modelPath(resource));
      } catch {
        fail(`${what}: no schema for ${resource.apiVersion} ${resource.kind}`);
        continue;
      }
      try {
        new model[resource.kind](resource).validate();
        ok(`${what}: schema (${resource.apiVersion})`);
      } catch (e) {
        const errors = (e.errors ?? []).map((x) => `${x.instancePath} ${x.message}`).join("; ");
        fail(`${what}: schema: ${errors || e.message}`);
      }
      typed.push(`import type { I${resource.kind} as T${n} } from "${modelPath(resource)}";`);
      typed.push(`export const r${n}: T${n} = ${JSON.stringify(resource, null, 2)};`);
      resources.push({ file, resource });
      n++;
    }
    const ts = `${basename(file)}.ts`;
    writeFileSync(join(work, "ts", ts), `${typed.join("\n")}\n`);
    tsFiles.push(ts);
  }
  writeFileSync(
    join(work, "ts", "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: "nodenext",
        moduleResolution: "nodenext",
        skipLibCheck: true,
        target: "es2022",
        typeRoots: [],
      },
      files: tsFiles,
    }),
  );
  try {
    execFileSync(join(work, "node_modules/.bin/tsc"), ["-p", join(work, "ts")], {
      cwd: work,
      encoding: "utf8",
      stdio: "pipe",
    });
    ok(`no unknown fields (TypeScript interfaces, ${tsFiles.length} files)`);
  } catch (e) {
    fail(`unknown or mistyped fields (each file's first per object):\n${e.stdout}${e.stderr}`);
  }
  penstockProperties(resources);
}

/** What the Penstock Deployment must have, beyond being valid. */
function penstockProperties(resources) {
  const find = (kind, name) =>
    resources.find((r) => r.resource.kind === kind && r.resource.metadata?.name === name)
      ?.resource;
  const deployment = find("Deployment", "penstock");
  if (!deployment) {
    fail("Deployment penstock present");
    return;
  }
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c) => c.name === "penstock") ?? {};
  check(container.readinessProbe?.httpGet?.path === "/health/ready", "readiness probe on /health/ready");
  check(container.livenessProbe?.httpGet?.path === "/health/live", "liveness probe on /health/live");
  check(container.startupProbe?.httpGet != null, "startup probe");

  const configMap = find("ConfigMap", "penstock-config");
  const config = parse(configMap?.data?.["penstock.yaml"] ?? "") ?? {};
  const graceSeconds = (config.defaults?.shutdown_grace_ms ?? 30000) / 1000;
  const preStop = container.lifecycle?.preStop;
  const preStopSeconds = preStop?.sleep?.seconds ?? 0;
  check(preStop != null, "preStop hook (endpoints drop the pod before SIGTERM)");
  check(
    pod.terminationGracePeriodSeconds > preStopSeconds + graceSeconds,
    `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > preStop ${preStopSeconds} s + shutdown_grace_ms ${graceSeconds} s`,
  );
  check(deployment.spec.replicas === config.cluster?.instances, "replicas = cluster.instances");

  const podSecurity = pod.securityContext ?? {};
  const security = container.securityContext ?? {};
  check(podSecurity.runAsNonRoot === true || security.runAsNonRoot === true, "runAsNonRoot");
  check(
    (security.seccompProfile ?? podSecurity.seccompProfile)?.type === "RuntimeDefault",
    "seccomp RuntimeDefault",
  );
  check(security.readOnlyRootFilesystem === true, "readOnlyRootFilesystem");
  check(security.allowPrivilegeEscalation === false, "allowPrivilegeEscalation: false");
  check(JSON.stringify(security.capabilities?.drop) === '["ALL"]', "capabilities drop ALL");
  const mounts = new Map((container.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
  const emptyDirs = new Set((pod.volumes ?? []).filter((v) => v.emptyDir).map((v) => v.name));
  for (const path of ["/tmp", "/var/lib/penstock"]) {
    check(emptyDirs.has(mounts.get(path)), `${path} writable (an emptyDir) under the read-only root`);
  }
  check(container.resources?.limits?.memory != null, "a memory limit (the heap is sized from it)");
  check(
    JSON.stringify(container.envFrom ?? []).includes("penstock-secrets"),
    "secrets from the Secret penstock-secrets (${VAR}s in the config)",
  );

  const monitor = find("ServiceMonitor", "penstock");
  const service = find("Service", "penstock");
  const endpoint = monitor?.spec?.endpoints?.[0] ?? {};
  check(
    endpoint.path === "/metrics" && service?.spec?.ports?.some((p) => p.name === endpoint.port),
    "ServiceMonitor scrapes /metrics on a port the Service names",
  );
  const pdb = find("PodDisruptionBudget", "penstock");
  check(pdb?.spec?.maxUnavailable === 1 || pdb?.spec?.minAvailable != null, "PodDisruptionBudget");
}

function docker(path) {
  const text = readFileSync(path, "utf8");
  const problems = lintDockerfile(text);
  check(
    problems.length === 0,
    `Dockerfile lint (dockerfile-utils)${problems
      .map((p) => `\n      line ${p.range.start.line + 1}: ${p.message}`)
      .join("")}`,
  );
  const dockerfile = DockerfileParser.parse(text);
  const instructions = dockerfile.getInstructions();
  const last = (keyword) => instructions.filter((i) => i.getKeyword() === keyword).at(-1);
  const args = (instruction) => instruction?.getArgumentsContent() ?? "";
  const defaults = new Map(
    dockerfile.getInitialARGs().map((a) => [a.getProperty()?.getName(), a.getProperty()?.getValue()]),
  );
  const bases = dockerfile
    .getFROMs()
    .map((f) => f.getImageName() ?? "")
    .map((name) => name.replace(/^\$\{?(\w+)\}?$/, (_, v) => defaults.get(v) ?? name));
  check(
    bases.every((b) => /^(docker\.io\/(library\/)?)?debian:[a-z]+-slim$/.test(b)),
    `base images are Debian slim (glibc): ${bases.join(", ")}`,
  );
  const user = args(last("USER"));
  check(/^[1-9]\d*(:\d+)?$/.test(user), `USER numeric and not root (runAsNonRoot can check it): ${user}`);
  const entrypoint = args(last("ENTRYPOINT"));
  check(entrypoint.trim().startsWith("["), "ENTRYPOINT in exec form (PID 1 gets SIGTERM)");
  check(args(last("STOPSIGNAL")) === "SIGTERM", "STOPSIGNAL SIGTERM");
  check(/\/health\/live/.test(args(last("HEALTHCHECK"))), "HEALTHCHECK on /health/live");
  check(!/\bcurl\b|\bwget\b/.test(args(last("HEALTHCHECK"))), "HEALTHCHECK needs no curl or wget");
  const volumes = instructions.filter((i) => i.getKeyword() === "VOLUME").map(args).join(" ");
  check(
    volumes.includes("/etc/penstock") && volumes.includes("/var/lib/penstock"),
    "VOLUMEs /etc/penstock and /var/lib/penstock",
  );
  check(args(last("EXPOSE")).split(/\s+/).includes("8080"), "EXPOSE 8080");
  const runs = instructions.filter((i) => i.getKeyword() === "RUN").map(args).join("\n");
  check(!/apt-get|apt |dpkg -i|openjdk|temurin/.test(runs), "nothing installed (no JDK, no curl)");
  check(
    instructions.some((i) => i.getKeyword() === "ADD" && /penstock-\$\{PENSTOCK_VERSION\}\.tar\.gz/.test(args(i))),
    "the release tarball ADDed by version",
  );
}
