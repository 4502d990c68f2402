import { describe, expect, it } from "vitest";
import { applyDefaults, defaultPullPolicy } from "../../src/api/defaults.js";
import { lookupResource, type ResourceInfo } from "../../src/api/resources.js";
import type { KubeObject } from "../../src/api/types.js";

const info = (r: string): ResourceInfo => lookupResource(r) as ResourceInfo;
function defaulted<T = any>(resource: string, obj: unknown): T {
  const o = structuredClone(obj) as KubeObject;
  applyDefaults(info(resource), o);
  return o as T;
}

describe("imagePullPolicy", () => {
  it.each([
    ["nginx", "Always"],
    ["nginx:latest", "Always"],
    ["nginx:1.25", "IfNotPresent"],
    ["registry:5000/nginx", "Always"],
    ["registry:5000/nginx:1", "IfNotPresent"],
    ["registry:5000/nginx:latest", "Always"],
    ["nginx@sha256:abc", "IfNotPresent"],
  ])("%s -> %s", (image, want) => {
    expect(defaultPullPolicy(image)).toBe(want);
  });
});

describe("pod defaults", () => {
  const pod = defaulted("pods", {
    metadata: { name: "p" },
    spec: {
      containers: [
        {
          name: "c",
          image: "busybox:1",
          ports: [{ containerPort: 80 }, { containerPort: 53, protocol: "UDP" }],
          livenessProbe: { httpGet: { port: 80 } },
          readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 3 },
          resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m" } },
        },
      ],
      initContainers: [{ name: "i", image: "busybox" }],
      volumes: [{ name: "cm", configMap: { name: "x" } }],
      tolerations: [{ key: "k", value: "v" }],
    },
  });

  it("fills pod spec defaults", () => {
    expect(pod.spec).toMatchObject({
      restartPolicy: "Always",
      dnsPolicy: "ClusterFirst",
      schedulerName: "default-scheduler",
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: true,
      securityContext: {},
    });
    expect(pod.status.phase).toBe("Pending");
  });

  it("fills container defaults", () => {
    const c = pod.spec.containers[0];
    expect(c.imagePullPolicy).toBe("IfNotPresent");
    expect(c.terminationMessagePath).toBe("/dev/termination-log");
    expect(c.terminationMessagePolicy).toBe("File");
    expect(c.ports).toEqual([{ containerPort: 80, protocol: "TCP" }, { containerPort: 53, protocol: "UDP" }]);
    expect(pod.spec.initContainers[0].imagePullPolicy).toBe("Always");
  });

  it("fills probe timings without overwriting set ones", () => {
    const c = pod.spec.containers[0];
    expect(c.livenessProbe).toEqual({
      httpGet: { port: 80, path: "/", scheme: "HTTP" },
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(c.readinessProbe.periodSeconds).toBe(3);
  });

  it("defaults requests to limits where unset", () => {
    expect(pod.spec.containers[0].resources.requests).toEqual({ cpu: "500m", memory: "1Gi" });
  });

  it("fills volume modes and toleration operators", () => {
    expect(pod.spec.volumes[0].configMap.defaultMode).toBe(0o644);
    expect(pod.spec.tolerations[0].operator).toBe("Equal");
  });

  it("never overwrites set fields", () => {
    const p = defaulted("pods", {
      metadata: { name: "p" },
      spec: { restartPolicy: "Never", dnsPolicy: "Default", schedulerName: "mine", terminationGracePeriodSeconds: 0, containers: [{ name: "c", image: "x:latest", imagePullPolicy: "Never" }] },
    });
    expect(p.spec).toMatchObject({ restartPolicy: "Never", dnsPolicy: "Default", schedulerName: "mine", terminationGracePeriodSeconds: 0 });
    expect(p.spec.containers[0].imagePullPolicy).toBe("Never");
  });

  it("fills zero values of non-pointer fields as Kubernetes does", () => {
    const p = defaulted("pods", {
      metadata: { name: "p" },
      spec: {
        restartPolicy: "",
        dnsPolicy: "",
        terminationGracePeriodSeconds: 0,
        containers: [{ name: "c", image: "x:1", imagePullPolicy: "", ports: [{ containerPort: 1, protocol: "" }], readinessProbe: { exec: { command: ["true"] }, periodSeconds: 0, timeoutSeconds: 0 } }],
      },
    });
    expect(p.spec.restartPolicy).toBe("Always");
    expect(p.spec.dnsPolicy).toBe("ClusterFirst");
    expect(p.spec.terminationGracePeriodSeconds).toBe(0);
    expect(p.spec.containers[0].imagePullPolicy).toBe("IfNotPresent");
    expect(p.spec.containers[0].ports[0].protocol).toBe("TCP");
    expect(p.spec.containers[0].readinessProbe).toMatchObject({ periodSeconds: 10, timeoutSeconds: 1 });
    const s = defaulted("svc", { metadata: { name: "s" }, spec: { type: "", ports: [{ port: 80, targetPort: 0 }] } });
    expect(s.spec.type).toBe("ClusterIP");
    expect(s.spec.ports[0].targetPort).toBe(80);
  });

  it("hostNetwork: container ports become host ports", () => {
    const p = defaulted("pods", { metadata: { name: "p" }, spec: { hostNetwork: true, containers: [{ name: "c", image: "x:1", ports: [{ containerPort: 80 }] }] } });
    expect(p.spec.containers[0].ports[0]).toEqual({ containerPort: 80, hostPort: 80, protocol: "TCP" });
  });

  it("is idempotent", () => {
    expect(defaulted("pods", pod)).toEqual(pod);
  });
});

describe("service defaults", () => {
  it("ClusterIP, None affinity, TCP and targetPort = port", () => {
    const s = defaulted("services", { metadata: { name: "s" }, spec: { ports: [{ port: 80 }, { port: 53, protocol: "UDP", targetPort: "dns" }] } });
    expect(s.spec.type).toBe("ClusterIP");
    expect(s.spec.sessionAffinity).toBe("None");
    expect(s.spec.ports).toEqual([
      { port: 80, protocol: "TCP", targetPort: 80 },
      { port: 53, protocol: "UDP", targetPort: "dns" },
    ]);
  });

  it("single-stack IPv4 and clusterIPs from clusterIP", () => {
    const s = defaulted("services", { metadata: { name: "s" }, spec: { clusterIP: "10.96.0.7", ports: [{ port: 80 }] } });
    expect(s.spec).toMatchObject({ ipFamilyPolicy: "SingleStack", ipFamilies: ["IPv4"], clusterIPs: ["10.96.0.7"], internalTrafficPolicy: "Cluster" });
    const e = defaulted("services", { metadata: { name: "e" }, spec: { type: "ExternalName", externalName: "example.com" } });
    expect(e.spec.ipFamilies).toBeUndefined();
    expect(e.spec.sessionAffinity).toBeUndefined();
  });

  it("NodePort gets externalTrafficPolicy Cluster", () => {
    const s = defaulted("svc", { metadata: { name: "s" }, spec: { type: "NodePort", ports: [{ port: 80 }] } });
    expect(s.spec.externalTrafficPolicy).toBe("Cluster");
  });
});

describe("workload defaults", () => {
  const template = { metadata: { labels: { app: "a" } }, spec: { containers: [{ name: "c", image: "x:1" }] } };
  it("deployment", () => {
    const d = defaulted("deployments", { metadata: { name: "d" }, spec: { selector: { matchLabels: { app: "a" } }, template } });
    expect(d.spec).toMatchObject({
      replicas: 1,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    expect(d.spec.template.spec.restartPolicy).toBe("Always");
    expect(d.spec.template.spec.containers[0].imagePullPolicy).toBe("IfNotPresent");
  });

  it("Recreate gets no rollingUpdate; replicas 0 stays 0", () => {
    const d = defaulted("deploy", { metadata: { name: "d" }, spec: { replicas: 0, strategy: { type: "Recreate" }, selector: {}, template } });
    expect(d.spec.strategy).toEqual({ type: "Recreate" });
    expect(d.spec.replicas).toBe(0);
  });

  it("replicaset", () => {
    const rs = defaulted("rs", { metadata: { name: "r" }, spec: { selector: {}, template } });
    expect(rs.spec.replicas).toBe(1);
    expect(rs.spec.template.spec.dnsPolicy).toBe("ClusterFirst");
  });

  it("hpa: minReplicas 1 and an 80% cpu metric", () => {
    const h = defaulted("hpa", { metadata: { name: "h" }, spec: { scaleTargetRef: { kind: "Deployment", name: "d" }, maxReplicas: 5 } });
    expect(h.spec.minReplicas).toBe(1);
    expect(h.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }]);
    const h2 = defaulted("hpa", { metadata: { name: "h" }, spec: { maxReplicas: 5, minReplicas: 2, metrics: [{ type: "Resource", resource: { name: "memory", target: { type: "AverageValue", averageValue: "1Gi" } } }] } });
    expect(h2.spec.minReplicas).toBe(2);
    expect(h2.spec.metrics[0].resource.name).toBe("memory");
  });
});

describe("other kinds", () => {
  it("namespace: Active and the metadata.name label", () => {
    const ns = defaulted("ns", { metadata: { name: "team" } });
    expect(ns.status.phase).toBe("Active");
    expect(ns.metadata.labels["kubernetes.io/metadata.name"]).toBe("team");
  });

  it("secret: Opaque, stringData folded into base64 data", () => {
    const s = defaulted("secrets", { metadata: { name: "s" }, data: { a: "eA==" }, stringData: { b: "héllo", a: "override" } });
    expect(s.type).toBe("Opaque");
    expect(s.stringData).toBeUndefined();
    expect(Buffer.from(s.data.b, "base64").toString("utf8")).toBe("héllo");
    expect(Buffer.from(s.data.a, "base64").toString("utf8")).toBe("override");
  });

  it("node: allocatable defaults to capacity", () => {
    const n = defaulted("nodes", { metadata: { name: "w1" }, status: { capacity: { cpu: "2", memory: "4Gi", pods: "110" } } });
    expect(n.status.allocatable).toEqual({ cpu: "2", memory: "4Gi", pods: "110" });
    expect(n.spec).toEqual({});
  });

  it("tolerates objects without spec", () => {
    expect(() => defaulted("pods", { metadata: { name: "p" } })).not.toThrow();
    expect(() => defaulted("deploy", { metadata: { name: "p" }, spec: null })).not.toThrow();
    expect(() => defaulted("svc", {})).not.toThrow();
  });
});

describe("QoS class", () => {
  it.each([
    [[{ name: "a" }], "BestEffort"],
    [[{ name: "a", resources: { limits: { cpu: "1", memory: "1Gi" } } }], "Guaranteed"],
    [[{ name: "a", resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "1000m", memory: "1024Mi" } } }], "Guaranteed"],
    [[{ name: "a", resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m" } } }], "Burstable"],
    [[{ name: "a", resources: { requests: { cpu: "100m" } } }], "Burstable"],
    [[{ name: "a", resources: { limits: { cpu: "1" } } }], "Burstable"],
    [[{ name: "a", resources: { limits: { cpu: "1", memory: "1Gi" } } }, { name: "b" }], "Burstable"],
  ])("%j -> %s", async (containers, want) => {
    const { computeQosClass } = await import("../../src/api/defaults.js");
    expect(computeQosClass({ containers } as never)).toBe(want);
    const pod = defaulted("pods", { metadata: { name: "p" }, spec: { containers: containers.map((c) => ({ ...c, image: "x" })) } });
    expect(pod.status.qosClass).toBe(want);
  });
});
