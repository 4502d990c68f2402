// Kubernetes' protobuf request bodies (application/vnd.kubernetes.protobuf),
// which kubectl's typed clients send (`kubectl create namespace|configmap|
// secret|deployment|service`). The body is "k8s\0" then a runtime.Unknown
// {typeMeta, raw}; raw is the object in the field numbering of Kubernetes'
// generated.proto. Only the kinds and fields those commands produce are
// mapped (see SCHEMAS); other fields are skipped. The result is the object's
// JSON form, which then goes through the same path as a JSON body.

import { errors } from "./status.js";

export const PROTOBUF_TYPE = "application/vnd.kubernetes.protobuf";

// ---------------------------------------------------------------- wire reader

interface Field {
  num: number;
  wire: number;
  /** varint value (wire 0) */
  int?: bigint;
  /** bytes (wire 2) */
  bytes?: Buffer;
}

function readFields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error("truncated varint");
      const b = buf[i++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new Error("varint too long");
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const num = key >>> 3;
    const wire = key & 7;
    if (num === 0) throw new Error("field number 0");
    if (wire === 0) out.push({ num, wire, int: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error("truncated bytes");
      out.push({ num, wire, bytes: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  if (i !== buf.length) throw new Error("truncated field");
  return out;
}

// ---------------------------------------------------------------- schema

/**
 * Field types: s string, i integer, b bool, y bytes (base64 in JSON), q
 * Quantity, t Time, ios IntOrString, M map<string,string>, MY
 * map<string,bytes>, MQ map<string,Quantity>, a message name; a trailing *
 * repeats; "inline:X" merges message X into the parent (Go's embedded structs).
 * Go writes non-pointer scalars even when zero, where JSON would omit them:
 * zero values are dropped unless the type ends in "!" (a pointer in Go, so a
 * zero that was sent on purpose, like replicas: 0).
 */
type Schema = Record<number, [string, string]>;

const s = (spec: string): Schema => {
  const out: Schema = {};
  for (const part of spec.trim().split(/\s*;\s*/)) {
    if (!part) continue;
    const [num, name, type] = part.split(/\s+/);
    out[Number(num)] = [name!, type!];
  }
  return out;
};

const SCHEMAS: Record<string, Schema> = {
  ObjectMeta: s("1 name s; 2 generateName s; 3 namespace s; 5 uid s; 6 resourceVersion s; 7 generation i; 11 labels M; 12 annotations M; 13 ownerReferences OwnerReference*; 14 finalizers s*"),
  OwnerReference: s("1 kind s; 3 name s; 4 uid s; 5 apiVersion s; 6 controller b!; 7 blockOwnerDeletion b!"),
  LabelSelector: s("1 matchLabels M; 2 matchExpressions LabelSelectorRequirement*"),
  LabelSelectorRequirement: s("1 key s; 2 operator s; 3 values s*"),
  Namespace: s("1 metadata ObjectMeta; 2 spec NamespaceSpec"),
  NamespaceSpec: s("1 finalizers s*"),
  ConfigMap: s("1 metadata ObjectMeta; 2 data M; 3 binaryData MY; 4 immutable b!"),
  Secret: s("1 metadata ObjectMeta; 2 data MY; 3 type s; 4 stringData M; 5 immutable b!"),
  Service: s("1 metadata ObjectMeta; 2 spec ServiceSpec"),
  ServiceSpec: s(
    "1 ports ServicePort*; 2 selector M; 3 clusterIP s; 4 type s; 5 externalIPs s*; 7 sessionAffinity s; 10 externalName s; 11 externalTrafficPolicy s; 13 publishNotReadyAddresses b; 17 ipFamilyPolicy s; 18 clusterIPs s*; 19 ipFamilies s*; 22 internalTrafficPolicy s",
  ),
  ServicePort: s("1 name s; 2 protocol s; 3 port i; 4 targetPort ios; 5 nodePort i; 6 appProtocol s"),
  Pod: s("1 metadata ObjectMeta; 2 spec PodSpec"),
  PodTemplateSpec: s("1 metadata ObjectMeta; 2 spec PodSpec"),
  PodSpec: s(
    "1 volumes Volume*; 2 containers Container*; 3 restartPolicy s; 4 terminationGracePeriodSeconds i!; 5 activeDeadlineSeconds i!; 6 dnsPolicy s; 7 nodeSelector M; 8 serviceAccountName s; 10 nodeName s; 11 hostNetwork b; 16 hostname s; 19 schedulerName s; 20 initContainers Container*; 22 tolerations Toleration*; 30 enableServiceLinks b!",
  ),
  Container: s(
    "1 name s; 2 image s; 3 command s*; 4 args s*; 5 workingDir s; 6 ports ContainerPort*; 7 env EnvVar*; 8 resources ResourceRequirements; 9 volumeMounts VolumeMount*; 13 terminationMessagePath s; 14 imagePullPolicy s; 16 stdin b; 17 stdinOnce b; 18 tty b; 20 terminationMessagePolicy s",
  ),
  ContainerPort: s("1 name s; 2 hostPort i; 3 containerPort i; 4 protocol s; 5 hostIP s"),
  EnvVar: s("1 name s; 2 value s; 3 valueFrom EnvVarSource"),
  EnvVarSource: s("1 fieldRef ObjectFieldSelector; 3 configMapKeyRef KeySelector; 4 secretKeyRef KeySelector"),
  ObjectFieldSelector: s("1 apiVersion s; 2 fieldPath s"),
  KeySelector: s("1 _ref inline:LocalObjectReference; 2 key s; 3 optional b!"),
  LocalObjectReference: s("1 name s"),
  ResourceRequirements: s("1 limits MQ; 2 requests MQ"),
  VolumeMount: s("1 name s; 2 readOnly b; 3 mountPath s; 4 subPath s"),
  Volume: s("1 name s; 2 _source inline:VolumeSource"),
  VolumeSource: s("1 hostPath HostPathVolumeSource; 2 emptyDir EmptyDirVolumeSource; 6 secret SecretVolumeSource; 19 configMap ConfigMapVolumeSource"),
  HostPathVolumeSource: s("1 path s; 2 type s"),
  EmptyDirVolumeSource: s("1 medium s; 2 sizeLimit q"),
  SecretVolumeSource: s("1 secretName s; 2 items KeyToPath*; 3 defaultMode i!; 4 optional b!"),
  ConfigMapVolumeSource: s("1 _ref inline:LocalObjectReference; 2 items KeyToPath*; 3 defaultMode i!; 4 optional b!"),
  KeyToPath: s("1 key s; 2 path s; 3 mode i!"),
  Toleration: s("1 key s; 2 operator s; 3 value s; 4 effect s; 5 tolerationSeconds i!"),
  Deployment: s("1 metadata ObjectMeta; 2 spec DeploymentSpec"),
  DeploymentSpec: s("1 replicas i!; 2 selector LabelSelector; 3 template PodTemplateSpec; 4 strategy DeploymentStrategy; 5 minReadySeconds i; 6 revisionHistoryLimit i!; 7 paused b; 9 progressDeadlineSeconds i!"),
  DeploymentStrategy: s("1 type s; 2 rollingUpdate RollingUpdateDeployment"),
  RollingUpdateDeployment: s("1 maxUnavailable ios; 2 maxSurge ios"),
  ReplicaSet: s("1 metadata ObjectMeta; 2 spec ReplicaSetSpec"),
  ReplicaSetSpec: s("1 replicas i!; 2 selector LabelSelector; 3 template PodTemplateSpec; 4 minReadySeconds i"),
  // autoscaling/v1, as `kubectl autoscale` sends it.
  HorizontalPodAutoscaler: s("1 metadata ObjectMeta; 2 spec HorizontalPodAutoscalerSpecV1"),
  HorizontalPodAutoscalerSpecV1: s("1 scaleTargetRef CrossVersionObjectReference; 2 minReplicas i!; 3 maxReplicas i!; 4 targetCPUUtilizationPercentage i!"),
  CrossVersionObjectReference: s("1 kind s; 2 name s; 3 apiVersion s"),
};

const str = (b: Buffer | undefined) => (b ?? Buffer.alloc(0)).toString("utf8");

function scalar(f: Field, type: string): unknown {
  switch (type) {
    case "s":
      return str(f.bytes);
    case "i": {
      // int32/int64 as two's complement varints.
      let v = f.int ?? 0n;
      if (v >= 1n << 63n) v -= 1n << 64n;
      return Number(v);
    }
    case "b":
      return (f.int ?? 0n) !== 0n;
    case "y":
      return (f.bytes ?? Buffer.alloc(0)).toString("base64");
    case "q": {
      const q = readFields(f.bytes ?? Buffer.alloc(0)).find((x) => x.num === 1);
      return str(q?.bytes);
    }
    case "ios": {
      const fs = readFields(f.bytes ?? Buffer.alloc(0));
      const kind = Number(fs.find((x) => x.num === 1)?.int ?? 0n);
      return kind === 1 ? str(fs.find((x) => x.num === 3)?.bytes) : Number(fs.find((x) => x.num === 2)?.int ?? 0n);
    }
    case "t": {
      const fs = readFields(f.bytes ?? Buffer.alloc(0));
      const secs = Number(fs.find((x) => x.num === 1)?.int ?? 0n);
      return new Date(secs * 1000).toISOString().replace(/\.\d+Z$/, "Z");
    }
  }
  return decodeMessage(type, f.bytes ?? Buffer.alloc(0));
}

function mapEntry(f: Field, valueType: string): [string, unknown] {
  const fs = readFields(f.bytes ?? Buffer.alloc(0));
  const k = str(fs.find((x) => x.num === 1)?.bytes);
  const v = fs.find((x) => x.num === 2);
  const value = v ? scalar(v, valueType) : valueType === "s" || valueType === "y" || valueType === "q" ? "" : null;
  return [k, value];
}

function decodeMessage(name: string, buf: Buffer): Record<string, unknown> {
  const schema = SCHEMAS[name];
  if (!schema) throw new Error(`no protobuf schema for ${name}`);
  const out: Record<string, unknown> = {};
  for (const f of readFields(buf)) {
    const def = schema[f.num];
    if (!def) continue;
    const [field, type] = def;
    if (type.startsWith("inline:")) {
      Object.assign(out, decodeMessage(type.slice(7), f.bytes ?? Buffer.alloc(0)));
      continue;
    }
    if (type === "M" || type === "MY" || type === "MQ") {
      const [k, v] = mapEntry(f, type === "M" ? "s" : type === "MY" ? "y" : "q");
      const m = (out[field] ??= {}) as Record<string, unknown>;
      m[k] = v;
      continue;
    }
    if (type.endsWith("*")) {
      ((out[field] ??= []) as unknown[]).push(scalar(f, type.slice(0, -1)));
      continue;
    }
    const keepZero = type.endsWith("!");
    const value = scalar(f, keepZero ? type.slice(0, -1) : type);
    if (!keepZero && (value === "" || value === 0 || value === false)) continue;
    out[field] = value;
  }
  return out;
}

/** A protobuf body as the JSON object it stands for; 400 when malformed, 415 for a kind not mapped here. */
export function decodeProtobufBody(buf: Buffer): Record<string, unknown> {
  if (buf.length < 4 || buf.subarray(0, 4).toString("latin1") !== "k8s\u0000") throw errors.badRequest("protobuf body without the k8s\\0 prefix");
  let envelope: Field[];
  try {
    envelope = readFields(buf.subarray(4));
  } catch (err) {
    throw errors.badRequest(`malformed protobuf body: ${(err as Error).message}`);
  }
  const typeMeta = readFields(envelope.find((f) => f.num === 1)?.bytes ?? Buffer.alloc(0));
  const apiVersion = str(typeMeta.find((f) => f.num === 1)?.bytes);
  const kind = str(typeMeta.find((f) => f.num === 2)?.bytes);
  const raw = envelope.find((f) => f.num === 2)?.bytes ?? Buffer.alloc(0);
  const mapped = ["Namespace", "ConfigMap", "Secret", "Service", "Pod", "Deployment", "ReplicaSet"].includes(kind) || (kind === "HorizontalPodAutoscaler" && apiVersion === "autoscaling/v1");
  if (!SCHEMAS[kind] || !mapped) {
    throw errors.unsupportedMediaType(`${PROTOBUF_TYPE} for ${kind || "an unnamed kind"} (send JSON)`);
  }
  try {
    return { apiVersion, kind, ...decodeMessage(kind, raw) };
  } catch (err) {
    throw errors.badRequest(`malformed protobuf ${kind}: ${(err as Error).message}`);
  }
}
