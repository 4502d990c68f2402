// Every manifest shipped in examples/ and test fixtures decodes, takes its
// defaults and passes validation and the strict field check: what a user
// applies first must not be refused by our own object model.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeManifests, findUnknownFields } from "../../src/api/codec.js";
import { applyDefaults } from "../../src/api/defaults.js";
import { resourceForKind } from "../../src/api/resources.js";
import { formatFieldErrors, validateObject } from "../../src/api/validation.js";

const DIRS = ["examples", "test/integration/fixtures"];
const files = DIRS.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(d, f)) : []));

describe("shipped manifests are valid", () => {
  it("there are some", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)("%s", (file) => {
    for (const obj of decodeManifests(readFileSync(file, "utf8"))) {
      const info = resourceForKind(obj.apiVersion, obj.kind ?? "");
      if (info === undefined) continue;
      if (info.namespaced && !obj.metadata.namespace) obj.metadata.namespace = "default";
      expect(findUnknownFields(info, obj), `${file}: ${obj.kind}/${obj.metadata.name}`).toEqual([]);
      applyDefaults(info, obj);
      const errs = validateObject(info, obj);
      expect(errs, formatFieldErrors(info.kind, obj.metadata.name ?? "", errs)).toEqual([]);
    }
  });
});
