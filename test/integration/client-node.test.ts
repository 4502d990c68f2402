// The official JavaScript client (@kubernetes/client-node) against real
// masters, unchanged: list, an informer (list + watch), create, patch and
// delete, over HTTPS with the cluster token as a user's kubeconfig gives it.

import * as k8s from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startCluster, until, type TestCluster } from "./apiserver-harness.js";

const masters = ["127.0.0.187", "127.0.0.188"].map((host, i) => ({ name: `m${i + 1}`, host, raftPort: 7721, clientPort: 2799, apiPort: 6863 }));

let cluster: TestCluster;
let kc: k8s.KubeConfig;

beforeAll(async () => {
  cluster = await startCluster({ clusterName: "client-node-test", masters });
  kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "pinsetter", server: cluster.apiUrl(masters[0]!, true), skipTLSVerify: true }],
    users: [{ name: "admin", token: cluster.token }],
    contexts: [{ name: "pinsetter", cluster: "pinsetter", user: "admin", namespace: "default" }],
    currentContext: "pinsetter",
  });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

it("lists, runs an informer, creates, patches and deletes with the official client", async () => {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);

  const namespaces = await core.listNamespace();
  expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(expect.arrayContaining(["default", "kube-system"]));

  const informer = k8s.makeInformer(kc, "/api/v1/namespaces/default/configmaps", () => core.listNamespacedConfigMap({ namespace: "default" }));
  const seen: string[] = [];
  informer.on("add", (o: k8s.V1ConfigMap) => seen.push(`add:${o.metadata?.name}`));
  informer.on("update", (o: k8s.V1ConfigMap) => seen.push(`update:${o.metadata?.name}:${o.data?.k}`));
  informer.on("delete", (o: k8s.V1ConfigMap) => seen.push(`delete:${o.metadata?.name}`));
  await informer.start();
  try {
    const created = await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "official" }, data: { k: "1" } } });
    expect(created.metadata?.uid).toBeTruthy();
    await until("the informer's add", () => seen.includes("add:official"));

    const patched = await core.patchNamespacedConfigMap(
      { name: "official", namespace: "default", body: { data: { k: "2" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    expect(patched.data).toEqual({ k: "2" });
    await until("the informer's update", () => seen.includes("update:official:2"));
    expect(informer.get("official", "default")?.data?.k).toBe("2");

    await core.deleteNamespacedConfigMap({ name: "official", namespace: "default" });
    await until("the informer's delete", () => seen.includes("delete:official"));

    const d = await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "official-web" },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: "official-web" } },
          template: { metadata: { labels: { app: "official-web" } }, spec: { containers: [{ name: "web", image: "nginx" }] } },
        },
      },
    });
    expect(d.spec?.strategy?.type).toBe("RollingUpdate");
    const smp = await apps.patchNamespacedDeployment(
      { name: "official-web", namespace: "default", body: { spec: { template: { spec: { containers: [{ name: "web", image: "nginx:2" }] } } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
    );
    expect(smp.spec?.template.spec?.containers.map((c) => c.image)).toEqual(["nginx:2"]);
    const scale = await apps.readNamespacedDeploymentScale({ name: "official-web", namespace: "default" });
    expect(scale.spec?.replicas).toBe(1);
    await apps.deleteNamespacedDeployment({ name: "official-web", namespace: "default" });
    const err = await apps.readNamespacedDeployment({ name: "official-web", namespace: "default" }).then(
      () => null,
      (e: unknown) => e as { code?: number },
    );
    expect(err?.code).toBe(404);
  } finally {
    await informer.stop();
  }
});
