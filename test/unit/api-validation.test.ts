import { describe, expect, it } from "vitest";
import { applyDefaults } from "../../src/api/defaults.js";
import { lookupResource, type ResourceInfo } from "../../src/api/resources.js";
import type { KubeObject } from "../../src/api/types.js";
import {
  fieldErrorCauses,
  formatFieldError,
  formatFieldErrors,
  validateObject,
  type FieldError,
} from "../../src/api/validation.js";

const info = (r: string): ResourceInfo => lookupResource(r) as ResourceInfo;

function validate(resource: string, obj: unknown, old?: unknown): FieldError[] {
  const o = structuredClone(obj) as KubeObject;
  applyDefaults(info(resource), o);
  let oo: KubeObject | undefined;
  if (old !== undefined) {
    oo = structuredClone(old) as KubeObject;
    applyDefaults(info(resource), oo);
  }
  return validateObject(info(resource), o, oo);
}

const lines = (errs: FieldError[]): string[] => errs.map(formatFieldError);

/** Applies `mutate` to a copy of `base`. */
function with_<T>(base: T, mutate: (o: any) => void): T {
  const c = structuredClone(base);
  mutate(c);
  return c;
}

const POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web-1", namespace: "default", labels: { app: "web" } },
  spec: {
    containers: [
      {
        name: "web",
        image: "nginx:1.25",
        ports: [{ name: "http", containerPort: 80 }, { name: "metrics", containerPort: 9090 }],
        env: [
          { name: "MODE", value: "prod" },
          { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "APP", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
        ],
        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
        livenessProbe: { httpGet: { path: "/healthz", port: "http" } },
        volumeMounts: [{ name: "data", mountPath: "/data" }],
      },
    ],
    volumes: [{ name: "data", emptyDir: {} }],
  },
};

const DEPLOY = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default" },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web", tier: "front" } }, spec: POD.spec },
  },
};

describe("valid objects pass", () => {
  it.each([
    ["pods", POD],
    ["deployments", DEPLOY],
    ["replicasets", with_(DEPLOY, (d) => ((d.kind = "ReplicaSet"), delete d.spec.strategy))],
    ["services", { metadata: { name: "web", namespace: "default" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }, { name: "m", port: 9090 }] } }],
    ["services", { metadata: { name: "ext", namespace: "default" }, spec: { type: "ExternalName", externalName: "example.com" } }],
    ["services", { metadata: { name: "headless", namespace: "default" }, spec: { clusterIP: "None", selector: { app: "x" } } }],
    ["namespaces", { metadata: { name: "team-a" } }],
    ["nodes", { metadata: { name: "w1.example" }, spec: { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] }, status: { capacity: { cpu: "2" } } }],
    ["configmaps", { metadata: { name: "cfg", namespace: "default" }, data: { "app.properties": "a=b", KEY_1: "v" } }],
    ["secrets", { metadata: { name: "s", namespace: "default" }, stringData: { password: "x" } }],
    ["endpoints", { metadata: { name: "web", namespace: "default" }, subsets: [{ addresses: [{ ip: "10.0.0.1" }], ports: [{ port: 80 }] }] }],
    ["events", { metadata: { name: "web.17a", namespace: "default" }, involvedObject: { kind: "Pod", name: "web-1", namespace: "default" }, type: "Normal", reason: "Started" }],
    ["leases", { metadata: { name: "w1", namespace: "kube-node-lease" }, spec: { holderIdentity: "w1", leaseDurationSeconds: 40 } }],
    ["hpa", { metadata: { name: "web", namespace: "default" }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, minReplicas: 1, maxReplicas: 5 } }],
  ])("%s", (resource, obj) => {
    expect(lines(validate(resource, obj))).toEqual([]);
  });
});

describe("metadata", () => {
  it.each([
    [(o: any) => delete o.metadata.name, "metadata.name: Required value: name or generateName is required"],
    [(o: any) => (o.metadata.name = "Web_1"), 'metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of'],
    [(o: any) => (o.metadata.name = "a".repeat(254)), "must be no more than 253 characters"],
    [(o: any) => delete o.metadata.namespace, "metadata.namespace: Required value"],
    [(o: any) => (o.metadata.namespace = "Bad"), 'metadata.namespace: Invalid value: "Bad"'],
    [(o: any) => (o.metadata.labels = { "bad key": "v" }), 'metadata.labels: Invalid value: "bad key": name part must consist of'],
    [(o: any) => (o.metadata.labels = { k: "-bad" }), 'metadata.labels: Invalid value: "-bad": a valid label must be an empty string'],
    [(o: any) => (o.metadata.labels = { k: "x".repeat(64) }), "must be no more than 63 characters"],
    [(o: any) => (o.metadata.labels = { "example.com/a/b": "x" }), "metadata.labels: Invalid value"],
    [(o: any) => (o.metadata.annotations = { big: "x".repeat(256 * 1024) }), "metadata.annotations: Too long: must have at most 262144 bytes"],
    [(o: any) => (o.metadata.ownerReferences = [{ apiVersion: "v1", kind: "X", name: "n" }]), 'metadata.ownerReferences[0].uid: Invalid value: "": uid must not be empty'],
    [(o: any) => (o.metadata.finalizers = ["a/b", "a/b"]), 'metadata.finalizers[1]: Duplicate value: "a/b"'],
  ])("%#: %s", (mutate, want) => {
    expect(lines(validate("pods", with_(POD, mutate))).join("\n")).toContain(want);
  });

  it("generateName stands in for name", () => {
    expect(validate("pods", with_(POD, (o) => ((o.metadata.generateName = "web-"), delete o.metadata.name)))).toEqual([]);
    expect(lines(validate("pods", with_(POD, (o) => ((o.metadata.generateName = "Web-"), delete o.metadata.name))))[0]).toContain("metadata.generateName");
  });

  it("cluster-scoped objects may not carry a namespace", () => {
    expect(lines(validate("nodes", { metadata: { name: "w1", namespace: "default" } }))).toEqual(["metadata.namespace: Forbidden: not allowed on this type"]);
  });

  it("names: services are DNS-1035 labels, namespaces DNS-1123 labels, events path segments", () => {
    expect(lines(validate("services", { metadata: { name: "1web", namespace: "d" }, spec: { ports: [{ port: 80 }] } }))[0]).toContain("a DNS-1035 label");
    expect(lines(validate("namespaces", { metadata: { name: "a.b" } }))[0]).toContain("RFC 1123 label");
    expect(validate("events", { metadata: { name: "Pod.Web:1", namespace: "d" }, involvedObject: { kind: "Pod" } })).toEqual([]);
    expect(lines(validate("events", { metadata: { name: "a/b", namespace: "d" }, involvedObject: {} }))[0]).toContain("may not contain '/'");
  });

  it("update: name and namespace are immutable", () => {
    const errs = lines(validate("configmaps", { metadata: { name: "b", namespace: "x" } }, { metadata: { name: "a", namespace: "default" } }));
    expect(errs).toContain('metadata.name: Invalid value: "b": field is immutable');
    expect(errs).toContain('metadata.namespace: Invalid value: "x": field is immutable');
  });
});

describe("pod spec", () => {
  const c0 = "spec.containers[0]";
  it.each([
    [(o: any) => (o.spec.containers = []), "spec.containers: Required value"],
    [(o: any) => delete o.spec.containers[0].image, `${c0}.image: Required value`],
    [(o: any) => (o.spec.containers[0].name = "Web"), `${c0}.name: Invalid value: "Web": a lowercase RFC 1123 label`],
    [(o: any) => o.spec.containers.push({ name: "web", image: "x" }), 'spec.containers[1].name: Duplicate value: "web"'],
    [(o: any) => (o.spec.initContainers = [{ name: "web", image: "x" }]), 'spec.containers[0].name: Duplicate value: "web"'],
    [(o: any) => (o.spec.containers[0].ports[1].containerPort = 0), `${c0}.ports[1].containerPort: Invalid value: 0: must be between 1 and 65535, inclusive`],
    [(o: any) => (o.spec.containers[0].ports[1].containerPort = 65536), `${c0}.ports[1].containerPort: Invalid value: 65536: must be between 1 and 65535, inclusive`],
    [(o: any) => delete o.spec.containers[0].ports[1].containerPort, `${c0}.ports[1].containerPort: Required value`],
    [(o: any) => (o.spec.containers[0].ports[1].name = "http"), `${c0}.ports[1].name: Duplicate value: "http"`],
    [(o: any) => (o.spec.containers[0].ports[1].name = "very-long-port-name"), `${c0}.ports[1].name: Invalid value: "very-long-port-name": must be no more than 15 characters`],
    [(o: any) => (o.spec.containers[0].ports[1].protocol = "ICMP"), `${c0}.ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`],
    [(o: any) => (o.spec.containers[0].ports[1].hostPort = 70000), `${c0}.ports[1].hostPort: Invalid value: 70000`],
    [(o: any) => (o.spec.restartPolicy = "Sometimes"), 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"'],
    [(o: any) => (o.spec.dnsPolicy = "Google"), 'spec.dnsPolicy: Unsupported value: "Google"'],
    [(o: any) => (o.spec.containers[0].imagePullPolicy = "Sometimes"), `${c0}.imagePullPolicy: Unsupported value: "Sometimes"`],
    [(o: any) => (o.spec.containers[0].resources.requests.cpu = "2"), `${c0}.resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 500m`],
    [(o: any) => (o.spec.containers[0].resources.limits.memory = "lots"), `${c0}.resources.limits[memory]: Invalid value: "lots": quantities must match the regular expression`],
    [(o: any) => (o.spec.containers[0].resources.limits.memory = "-1Gi"), `${c0}.resources.limits[memory]: Invalid value: "-1Gi": must be greater than or equal to 0`],
    [(o: any) => (o.spec.containers[0].resources.limits.gpu = "1"), `${c0}.resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified`],
    [(o: any) => (o.spec.containers[0].livenessProbe = { periodSeconds: 5 }), `${c0}.livenessProbe: Required value: must specify a handler type`],
    [(o: any) => (o.spec.containers[0].livenessProbe.exec = { command: ["true"] }), `${c0}.livenessProbe.httpGet: Forbidden: may not specify more than 1 handler type`],
    [(o: any) => (o.spec.containers[0].livenessProbe.successThreshold = 2), `${c0}.livenessProbe.successThreshold: Invalid value: 2: must be 1`],
    [(o: any) => (o.spec.containers[0].readinessProbe = { tcpSocket: { port: 0 } }), `${c0}.readinessProbe.tcpSocket.port: Invalid value: 0: must be between 1 and 65535, inclusive`],
    [(o: any) => (o.spec.containers[0].livenessProbe.periodSeconds = -1), `${c0}.livenessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0`],
    [(o: any) => (o.spec.containers[0].volumeMounts[0].name = "nope"), `${c0}.volumeMounts[0].name: Not found: "nope"`],
    [(o: any) => o.spec.containers[0].volumeMounts.push({ name: "data", mountPath: "/data" }), `${c0}.volumeMounts[1].mountPath: Invalid value: "/data": must be unique`],
    [(o: any) => o.spec.volumes.push({ name: "data", emptyDir: {} }), 'spec.volumes[1].name: Duplicate value: "data"'],
    [(o: any) => (o.spec.volumes[0].hostPath = { path: "/x" }), "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"],
    [(o: any) => (o.spec.containers[0].env[0].name = "A=B"), `${c0}.env[0].name: Invalid value: "A=B"`],
    [(o: any) => (o.spec.containers[0].env[0].valueFrom = { fieldRef: { fieldPath: "metadata.name" } }), `${c0}.env[0].valueFrom: Invalid value: "": may not be specified when \`value\` is not empty`],
    [(o: any) => (o.spec.containers[0].env = [{ name: "X", valueFrom: {} }]), `${c0}.env[0].valueFrom: Invalid value: "": must specify one of`],
    [(o: any) => (o.spec.terminationGracePeriodSeconds = -5), "spec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or equal to 0"],
    [(o: any) => (o.spec.activeDeadlineSeconds = 0), "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"],
    [(o: any) => (o.spec.nodeSelector = { "bad key": "x" }), 'spec.nodeSelector: Invalid value: "bad key"'],
    [(o: any) => (o.spec.tolerations = [{ key: "", operator: "Equal", value: "x" }]), "spec.tolerations[0].operator: Invalid value"],
    [(o: any) => (o.spec.tolerations = [{ key: "a", operator: "Exists", value: "x" }]), "value must be empty when `operator` is 'Exists'"],
    [(o: any) => (o.spec.tolerations = [{ key: "a", effect: "Sometimes" }]), 'spec.tolerations[0].effect: Unsupported value: "Sometimes"'],
    [(o: any) => (o.spec.schedulerName = "My Scheduler"), 'spec.schedulerName: Invalid value: "My Scheduler"'],
    [(o: any) => (o.spec.dnsPolicy = "None"), "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"],
    [(o: any) => (o.spec.containers[0].env = [{ name: "X", valueFrom: { fieldRef: { fieldPath: "spec.hostname" } } }]), `${c0}.env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.hostname": supported values: "metadata.name"`],
    [(o: any) => (o.spec.containers[0].env = [{ name: "X", valueFrom: { fieldRef: { fieldPath: "metadata.labels['bad key']" } } }]), `${c0}.env[0].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.labels['bad key']"`],
    [(o: any) => (o.spec.containers[0].env = [{ name: "X", valueFrom: { resourceFieldRef: { resource: "limits.gpu" } } }]), `${c0}.env[0].valueFrom.resourceFieldRef.resource: Unsupported value: "limits.gpu"`],
    [(o: any) => (o.spec.volumes[0] = { name: "data", configMap: { name: "c", defaultMode: 0o1777 } }), "spec.volumes[0].configMap.defaultMode: Invalid value: 1023: must be a number between 0 and 0777 (octal), both inclusive"],
    [(o: any) => (o.spec.volumes[0] = { name: "data", secret: { secretName: "s", items: [{ key: "k", path: "../x" }] } }), `spec.volumes[0].secret.items[0].path: Invalid value: "../x": must not contain '..'`],
    [(o: any) => (o.spec.volumes[0] = { name: "data", hostPath: { path: "/x", type: "Pipe" } }), 'spec.volumes[0].hostPath.type: Unsupported value: "Pipe"'],
    [(o: any) => ((o.spec.hostNetwork = true), (o.spec.containers[0].ports[0].hostPort = 8080)), "spec.containers[0].ports[0].hostPort: Invalid value: 8080: must match `containerPort` when `hostNetwork` is true"],
    [(o: any) => o.spec.containers.push({ name: "b", image: "x", ports: [{ containerPort: 1, hostPort: 8080 }] }, { name: "c", image: "x", ports: [{ containerPort: 2, hostPort: 8080 }] }), "spec.containers[2].ports[0].hostPort: Duplicate value"],
  ])("%#: %s", (mutate, want) => {
    expect(lines(validate("pods", with_(POD, mutate))).join("\n")).toContain(want);
  });

  it("reports every error at once", () => {
    const bad = with_(POD, (o) => {
      o.spec.containers[0].ports[1].containerPort = 0;
      delete o.spec.containers[0].image;
      o.spec.restartPolicy = "Sometimes";
      o.metadata.labels = { "bad key": "x" };
    });
    expect(validate("pods", bad)).toHaveLength(4);
  });

  it("reports wrong JSON types by path, before other rules", () => {
    const errs = lines(validate("pods", with_(POD, (o) => ((o.spec.containers[0].ports[0].containerPort = "80"), (o.spec.containers[0].image = 5)))));
    expect(errs).toContain('spec.containers[0].ports[0].containerPort: Invalid value: "80": must be of type int32');
    expect(errs).toContain("spec.containers[0].image: Invalid value: 5: must be of type string");
    expect(lines(validate("pods", with_(POD, (o) => (o.spec.containers = { name: "x" })))).join()).toContain("spec.containers: Invalid value");
    expect(lines(validate("pods", with_(POD, (o) => (o.metadata.labels = { a: 1 })))).join()).toContain("metadata.labels[a]: Invalid value: 1: must be of type string");
  });
});

describe("pod update", () => {
  it.each([
    ["image changes", (o: any) => (o.spec.containers[0].image = "nginx:1.26")],
    ["activeDeadlineSeconds set", (o: any) => (o.spec.activeDeadlineSeconds = 60)],
    ["tolerations added", (o: any) => (o.spec.tolerations = [{ key: "k", operator: "Exists" }])],
    ["labels change", (o: any) => (o.metadata.labels = { app: "other" })],
    ["status changes", (o: any) => (o.status = { phase: "Running" })],
  ])("allows: %s", (_, mutate) => {
    expect(lines(validate("pods", with_(POD, mutate), POD))).toEqual([]);
  });

  it.each([
    ["a port change", (o: any) => (o.spec.containers[0].ports[0].containerPort = 81)],
    ["a new container", (o: any) => o.spec.containers.push({ name: "b", image: "x" })],
    ["nodeName", (o: any) => (o.spec.nodeName = "w2")],
    ["resources", (o: any) => (o.spec.containers[0].resources.limits.cpu = "1")],
    ["restartPolicy", (o: any) => (o.spec.restartPolicy = "Never")],
  ])("forbids: %s", (_, mutate) => {
    const errs = lines(validate("pods", with_(POD, mutate), POD));
    expect(errs.join("\n")).toContain("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`");
  });

  it("activeDeadlineSeconds may only shrink; tolerations may not be removed", () => {
    const old = with_(POD, (o) => ((o.spec.activeDeadlineSeconds = 60), (o.spec.tolerations = [{ key: "k", operator: "Exists" }])));
    expect(lines(validate("pods", with_(old, (o) => (o.spec.activeDeadlineSeconds = 30)), old))).toEqual([]);
    expect(lines(validate("pods", with_(old, (o) => (o.spec.activeDeadlineSeconds = 90)), old))[0]).toContain("must be less than or equal to previous value");
    expect(lines(validate("pods", with_(old, (o) => (o.spec.tolerations = [])), old)).join()).toContain("spec.tolerations: Forbidden");
  });
});

describe("deployments and replicasets", () => {
  it.each([
    [(o: any) => (o.spec.replicas = -1), "spec.replicas: Invalid value: -1: must be greater than or equal to 0"],
    [(o: any) => delete o.spec.selector, "spec.selector: Required value"],
    [(o: any) => (o.spec.selector = {}), "empty selector is invalid for deployment"],
    [(o: any) => (o.spec.selector = { matchLabels: { app: "db" } }), "spec.template.metadata.labels: Invalid value: {\"app\":\"web\",\"tier\":\"front\"}: `selector` does not match template `labels`"],
    [(o: any) => (o.spec.selector = { matchExpressions: [{ key: "app", operator: "In" }] }), "spec.selector.matchExpressions[0].values: Required value"],
    [(o: any) => (o.spec.selector = { matchExpressions: [{ key: "app", operator: "Has" }] }), 'spec.selector.matchExpressions[0].operator: Unsupported value: "Has"'],
    [(o: any) => (o.spec.template.spec.restartPolicy = "Never"), 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
    [(o: any) => (o.spec.template.spec.containers[0].ports[1].containerPort = 99999), "spec.template.spec.containers[0].ports[1].containerPort: Invalid value: 99999"],
    [(o: any) => (o.spec.strategy = { type: "Recreate", rollingUpdate: {} }), "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"],
    [(o: any) => (o.spec.strategy = { type: "Blue" }), 'spec.strategy.type: Unsupported value: "Blue"'],
    [(o: any) => (o.spec.strategy = { rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } }), "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"],
    [(o: any) => (o.spec.strategy = { rollingUpdate: { maxUnavailable: "120%" } }), "must not be greater than 100%"],
    [(o: any) => (o.spec.strategy = { rollingUpdate: { maxSurge: "x%" } }), "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"x%\": a valid percent string"],
    [(o: any) => (o.spec.revisionHistoryLimit = -2), "spec.revisionHistoryLimit: Invalid value: -2"],
    [(o: any) => ((o.spec.minReadySeconds = 700), (o.spec.progressDeadlineSeconds = 600)), "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"],
  ])("%#: %s", (mutate, want) => {
    expect(lines(validate("deployments", with_(DEPLOY, mutate))).join("\n")).toContain(want);
  });

  it("the selector is immutable, the replicas are not", () => {
    expect(validate("deployments", with_(DEPLOY, (o) => (o.spec.replicas = 5)), DEPLOY)).toEqual([]);
    const errs = lines(
      validate("deployments", with_(DEPLOY, (o) => ((o.spec.selector = { matchLabels: { app: "web", tier: "front" } }))), DEPLOY),
    );
    expect(errs.join()).toContain("spec.selector: Invalid value");
    expect(errs.join()).toContain("field is immutable");
  });

  it("replicaset: same selector rules", () => {
    const rs = with_(DEPLOY, (o) => ((o.kind = "ReplicaSet"), (o.spec.selector = { matchLabels: { app: "x" } })));
    expect(lines(validate("replicasets", rs)).join()).toContain("`selector` does not match template `labels`");
  });
});

describe("services", () => {
  const SVC = { metadata: { name: "web", namespace: "default" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] } };
  it.each([
    [(o: any) => (o.spec.ports = []), "spec.ports: Required value"],
    [(o: any) => (o.spec.ports[0].port = 0), "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
    [(o: any) => o.spec.ports.push({ port: 81 }), "spec.ports[1].name: Required value"],
    [(o: any) => o.spec.ports.push({ name: "http", port: 81 }), 'spec.ports[1].name: Duplicate value: "http"'],
    [(o: any) => o.spec.ports.push({ name: "b", port: 80 }), "spec.ports[1]: Duplicate value"],
    [(o: any) => (o.spec.ports[0].targetPort = 70000), "spec.ports[0].targetPort: Invalid value: 70000"],
    [(o: any) => (o.spec.ports[0].nodePort = 30080), "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
    [(o: any) => (o.spec.type = "Magic"), 'spec.type: Unsupported value: "Magic"'],
    [(o: any) => (o.spec.sessionAffinity = "Sticky"), 'spec.sessionAffinity: Unsupported value: "Sticky"'],
    [(o: any) => (o.spec.clusterIP = "10.0.0.300"), 'spec.clusterIP: Invalid value: "10.0.0.300"'],
    [(o: any) => (o.spec.type = "ExternalName"), "spec.externalName: Required value"],
  ])("%#: %s", (mutate, want) => {
    expect(lines(validate("services", with_(SVC, mutate))).join("\n")).toContain(want);
  });

  it("NodePort may carry nodePorts; clusterIP is immutable", () => {
    expect(validate("services", with_(SVC, (o) => ((o.spec.type = "NodePort"), (o.spec.ports[0].nodePort = 30080))))).toEqual([]);
    const old = with_(SVC, (o) => (o.spec.clusterIP = "10.96.0.10"));
    expect(lines(validate("services", with_(SVC, (o) => (o.spec.clusterIP = "10.96.0.11")), old))).toEqual([
      'spec.clusterIP: Invalid value: "10.96.0.11": field is immutable',
    ]);
    expect(validate("services", with_(SVC, (o) => (o.spec.clusterIP = "10.96.0.10")), old)).toEqual([]);
  });
});

describe("config, secrets and the rest", () => {
  const CM = { metadata: { name: "c", namespace: "default" }, data: { a: "1" } };
  it("configmap keys and immutability", () => {
    expect(lines(validate("configmaps", with_(CM, (o) => (o.data = { "bad/key": "x" }))))[0]).toContain('data[bad/key]: Invalid value: "bad/key": a valid config key');
    expect(lines(validate("configmaps", with_(CM, (o) => (o.binaryData = { a: "eA==" }))))[0]).toContain("duplicate of key present in other data fields");
    const frozen = with_(CM, (o) => (o.immutable = true));
    expect(validate("configmaps", frozen, frozen)).toEqual([]);
    expect(lines(validate("configmaps", with_(frozen, (o) => (o.data.a = "2")), frozen))).toEqual(["data: Forbidden: field is immutable when `immutable` is set"]);
    expect(lines(validate("configmaps", with_(frozen, (o) => delete o.immutable), frozen))).toEqual(["immutable: Forbidden: field is immutable when `immutable` is set"]);
    expect(validate("configmaps", with_(CM, (o) => (o.data.a = "2")), CM)).toEqual([]);
  });

  it("secret types, base64 and immutability", () => {
    const S = { metadata: { name: "s", namespace: "default" }, data: { a: "eA==" } };
    expect(lines(validate("secrets", with_(S, (o) => (o.type = "kubernetes.io/tls"))))).toEqual(["data[tls.crt]: Required value", "data[tls.key]: Required value"]);
    expect(lines(validate("secrets", with_(S, (o) => (o.data.a = "not base64!"))))[0]).toContain("data[a]: Invalid value");
    expect(lines(validate("secrets", with_(S, (o) => (o.type = "Other")), S))).toEqual(['type: Invalid value: "Other": field is immutable']);
    const frozen = with_(S, (o) => (o.immutable = true));
    expect(lines(validate("secrets", with_(frozen, (o) => (o.data.b = "eQ==")), frozen))).toEqual(["data: Forbidden: field is immutable when `immutable` is set"]);
  });

  it("nodes: taints", () => {
    const errs = lines(validate("nodes", { metadata: { name: "w1" }, spec: { taints: [{ key: "a", effect: "Never" }, { key: "b" }, { key: "c", effect: "NoSchedule" }, { key: "c", effect: "NoSchedule" }] } }));
    expect(errs).toContain('spec.taints[0].effect: Unsupported value: "Never": supported values: "NoExecute", "NoSchedule", "PreferNoSchedule"');
    expect(errs).toContain("spec.taints[1].effect: Required value");
    expect(errs.join()).toContain("spec.taints[3]: Duplicate value");
  });

  it("endpoints: ip and ports", () => {
    const errs = lines(validate("endpoints", { metadata: { name: "e", namespace: "d" }, subsets: [{ addresses: [{ ip: "nope" }], ports: [{ port: 80 }, { port: 0, name: "b" }] }] }));
    expect(errs).toContain('subsets[0].addresses[0].ip: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
    expect(errs).toContain("subsets[0].ports[0].name: Required value");
    expect(errs).toContain("subsets[0].ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive");
  });

  it("leases and events", () => {
    expect(lines(validate("leases", { metadata: { name: "l", namespace: "d" }, spec: { leaseDurationSeconds: 0 } }))).toEqual(["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]);
    expect(lines(validate("events", { metadata: { name: "e", namespace: "a" }, involvedObject: { namespace: "b" } }))).toEqual(['involvedObject.namespace: Invalid value: "b": does not match event.namespace']);
    expect(lines(validate("events", { metadata: { name: "e", namespace: "a" } }))).toEqual(["involvedObject: Required value"]);
  });

  it("hpa", () => {
    const H = { metadata: { name: "h", namespace: "d" }, spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, minReplicas: 3, maxReplicas: 2 } };
    expect(lines(validate("hpa", H))).toEqual(["spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"]);
    expect(lines(validate("hpa", with_(H, (o) => ((o.spec.minReplicas = 0), (o.spec.maxReplicas = 5)))))).toEqual(["spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"]);
    expect(lines(validate("hpa", with_(H, (o) => ((o.spec.maxReplicas = 5), delete o.spec.scaleTargetRef.name))))).toEqual(["spec.scaleTargetRef.name: Required value"]);
    const m = with_(H, (o) => ((o.spec.maxReplicas = 5), (o.spec.metrics = [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization" } } }])));
    expect(lines(validate("hpa", m))[0]).toContain("spec.metrics[0].resource.target.averageUtilization: Required value");
  });
});

describe("formatting", () => {
  it("formats Kubernetes' 422 message", () => {
    const errs = validate("deployments", with_(DEPLOY, (o) => ((o.spec.replicas = -1), delete o.spec.template.spec.containers[0].image)));
    expect(formatFieldErrors("Deployment", "web", errs)).toBe(
      'Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.template.spec.containers[0].image: Required value]',
    );
    expect(formatFieldErrors("Pod", "p", [errs[0] as FieldError])).toBe('Pod "p" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    expect(formatFieldErrors("HorizontalPodAutoscaler", "h", [])).toBe('HorizontalPodAutoscaler.autoscaling "h" is invalid');
    expect(formatFieldErrors("Scale", "web", [])).toBe('Scale.autoscaling "web" is invalid');
    expect(formatFieldErrors("Lease", "l", [])).toBe('Lease.coordination.k8s.io "l" is invalid');
  });

  it("builds Status causes", () => {
    expect(fieldErrorCauses([{ type: "FieldValueRequired", field: "spec.x", message: "" }])).toEqual([
      { reason: "FieldValueRequired", message: "Required value", field: "spec.x" },
    ]);
  });
});

describe("robustness: malformed objects never make defaults or validation throw", () => {
  // Replaces one random node of a valid object with a value of a wrong type,
  // many times over: the API server runs defaults and validation on untrusted
  // bodies, so both must answer with errors, never with an exception.
  const WRONG: unknown[] = [null, 0, -1, 1.5, "x", "", true, [], [1, "a"], {}, { a: { b: 1 } }, "-5", "1e99"];
  const paths = (v: unknown, prefix: (string | number)[] = []): (string | number)[][] => {
    if (v === null || typeof v !== "object") return [prefix];
    const out: (string | number)[][] = [prefix];
    for (const [k, c] of Object.entries(v)) out.push(...paths(c, [...prefix, Array.isArray(v) ? Number(k) : k]));
    return out;
  };
  const setAt = (root: any, path: (string | number)[], value: unknown): void => {
    let cur = root;
    for (let i = 0; i < path.length - 1; i++) cur = cur[path[i] as string];
    cur[path[path.length - 1] as string] = value;
  };

  it.each([
    ["pods", POD],
    ["deployments", DEPLOY],
    ["services", { metadata: { name: "s", namespace: "d" }, spec: { selector: { a: "b" }, ports: [{ port: 80, targetPort: "http" }] } }],
    ["hpa", { metadata: { name: "h", namespace: "d" }, spec: { scaleTargetRef: { kind: "Deployment", name: "w" }, maxReplicas: 3, metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }], behavior: { scaleUp: {} } } }],
    ["secrets", { metadata: { name: "s", namespace: "d" }, stringData: { a: "b" }, data: { c: "eA==" } }],
    ["nodes", { metadata: { name: "n" }, spec: { taints: [{ key: "a", effect: "NoSchedule" }] }, status: { capacity: { cpu: "1" }, conditions: [{ type: "Ready", status: "True" }] } }],
    ["namespaces", { metadata: { name: "n", labels: { a: "b" } }, status: { phase: "Active" } }],
    ["endpoints", { metadata: { name: "e", namespace: "d" }, subsets: [{ addresses: [{ ip: "10.0.0.1" }], ports: [{ port: 1 }] }] }],
    ["events", { metadata: { name: "e", namespace: "d" }, involvedObject: { kind: "Pod", name: "p" }, count: 1 }],
    ["configmaps", { metadata: { name: "c", namespace: "d" }, data: { a: "b" }, immutable: true }],
    ["leases", { metadata: { name: "l", namespace: "d" }, spec: { holderIdentity: "x", leaseDurationSeconds: 10 } }],
  ])("%s", async (resource, base) => {
    const { prng } = await import("../lib/prng.js");
    const rand = prng(42);
    const all = paths(base).filter((p) => p.length > 0);
    for (let n = 0; n < 600; n++) {
      const obj = structuredClone(base) as any;
      const p = all[Math.floor(rand() * all.length)] as (string | number)[];
      setAt(obj, p, structuredClone(WRONG[Math.floor(rand() * WRONG.length)]));
      // A second mutation where the first left the path intact.
      const p2 = all[Math.floor(rand() * all.length)] as (string | number)[];
      try {
        setAt(obj, p2, structuredClone(WRONG[Math.floor(rand() * WRONG.length)]));
      } catch {
        // the first mutation removed p2's parent
      }
      const old = n % 3 === 0 ? (structuredClone(base) as KubeObject) : n % 3 === 1 ? (structuredClone(obj) as KubeObject) : undefined;
      try {
        applyDefaults(info(resource), obj);
        const errs = validateObject(info(resource), obj, old);
        expect(Array.isArray(errs)).toBe(true);
        formatFieldErrors(info(resource).kind, "x", errs);
      } catch (e) {
        throw new Error(`${resource} with ${JSON.stringify(p)} = ${JSON.stringify(obj)}: ${(e as Error).stack}`);
      }
    }
  });
});

describe("subresources", () => {
  it("status and binding writes skip the spec rules, keep the metadata rules", () => {
    const old = structuredClone(POD) as KubeObject;
    const bound = with_(POD, (o) => (o.spec.nodeName = "w1")) as KubeObject;
    expect(validateObject(info("pods"), bound, old).map(formatFieldError).join()).toContain("spec: Forbidden");
    expect(validateObject(info("pods"), bound, old, { subresource: "binding" })).toEqual([]);
    const renamed = with_(POD, (o) => ((o.metadata.name = "other"), (o.status = { phase: "Running" }))) as KubeObject;
    expect(validateObject(info("pods"), renamed, old, { subresource: "status" }).map(formatFieldError)).toEqual([
      'metadata.name: Invalid value: "other": field is immutable',
    ]);
  });

  it("status writes: counts, addresses and names", () => {
    const d = with_(DEPLOY, (o) => (o.status = { replicas: 2, readyReplicas: 3, updatedReplicas: -1 })) as KubeObject;
    expect(validateObject(info("deployments"), d, DEPLOY as KubeObject, { subresource: "status" }).map(formatFieldError)).toEqual([
      "status.updatedReplicas: Invalid value: -1: must be greater than or equal to 0",
      "status.readyReplicas: Invalid value: 3: cannot be greater than status.replicas",
    ]);
    const p = with_(POD, (o) => (o.status = { podIP: "10.0.0.1", podIPs: [{ ip: "10.0.0.2" }], hostIP: "x", nominatedNodeName: "W1" })) as KubeObject;
    expect(validateObject(info("pods"), p, POD as KubeObject, { subresource: "status" }).map(formatFieldError)).toEqual([
      'status.hostIP: Invalid value: "x": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
      'status.podIPs[0].ip: Invalid value: "10.0.0.2": must match status.podIP',
      expect.stringContaining('status.nominatedNodeName: Invalid value: "W1"'),
    ]);
    const ok = with_(POD, (o) => (o.status = { phase: "Running", podIP: "10.0.0.1", podIPs: [{ ip: "10.0.0.1" }], hostIP: "127.0.0.21" })) as KubeObject;
    expect(validateObject(info("pods"), ok, POD as KubeObject, { subresource: "status" })).toEqual([]);
  });

  it("scale: replicas must not be negative", async () => {
    const { validateScale } = await import("../../src/api/validation.js");
    expect(validateScale({ metadata: {}, spec: { replicas: 3 } })).toEqual([]);
    expect(validateScale({ metadata: {}, spec: { replicas: -1 } }).map(formatFieldError)).toEqual(["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]);
    expect(validateScale({ metadata: {}, spec: { replicas: "2" } }).map(formatFieldError)).toEqual(['spec.replicas: Invalid value: "2": must be of type int32']);
  });
});
