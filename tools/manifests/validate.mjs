// Offline checks of Kubernetes manifests against upstream schemas and types.
//
//   node validate.mjs MANIFESTS.json
//
// MANIFESTS.json is a JSON array of {"source": "<where>", "manifest": {...}}. Each manifest is
// checked twice:
//   1. against the JSON Schema of its kind (kubernetes-models for built-in kinds,
//      @kubernetes-models/knative for Knative's): types, required fields, enumerations;
//   2. by the TypeScript compiler against the kind's generated types: Knative's schemas (like
//      the API server) accept unknown fields and drop them, so a misspelt field passes (1)
//      and is caught here as an excess property.
// Prints a JSON array of {"source", "kind", "name", "problem"}; exits 1 when it is not empty.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const BUILT_IN = new Set(["v1", "apps/v1", "batch/v1"]);
// Kinds whose generated model marks `status` required although only the API server writes
// it: an empty status is supplied for the check (and never written to the manifests).
const STATUS_REQUIRED_BY_MODEL = new Set(["sources.knative.dev/v1/SinkBinding"]);

function checked(manifest) {
  const kind = `${manifest.apiVersion}/${manifest.kind}`;
  return STATUS_REQUIRED_BY_MODEL.has(kind) && manifest.status === undefined
    ? { ...manifest, status: {} }
    : manifest;
}

function modulePath(apiVersion, kind) {
  if (BUILT_IN.has(apiVersion)) {
    return `kubernetes-models/${apiVersion}/${kind}`;
  }
  const [group] = apiVersion.split("/");
  if (group.endsWith(".knative.dev")) {
    return `@kubernetes-models/knative/${apiVersion}/${kind}`;
  }
  return null;
}

const entries = JSON.parse(readFileSync(process.argv[2], "utf8"));
const problems = [];
const typed = [];

for (const [index, { source, manifest: given }] of entries.entries()) {
  const manifest = checked(given);
  const where = {
    source,
    kind: `${manifest.apiVersion}/${manifest.kind}`,
    name: manifest.metadata?.name ?? "",
  };
  const path = modulePath(manifest.apiVersion, manifest.kind);
  let model;
  if (path !== null) {
    try {
      model = (await import(path))[manifest.kind];
    } catch {
      model = undefined;
    }
  }
  if (model === undefined) {
    problems.push({ ...where, problem: "no upstream schema for this apiVersion and kind" });
    continue;
  }
  try {
    new model(manifest).validate();
  } catch (error) {
    problems.push({ ...where, problem: `schema: ${error.message}` });
  }
  typed.push({ index, where, path });
}

const work = mkdtempSync(join(here, ".check-"));
try {
  const lines = [];
  const owners = [];
  for (const { index, where, path } of typed) {
    lines.push(`import type { I${where.kind.split("/").pop()} as T${index} } from "${path}";`);
  }
  for (const { index, where } of typed) {
    const literal = JSON.stringify(checked(entries[index].manifest), null, 2);
    const text = `export const m${index}: T${index} = ${literal};`;
    for (const line of text.split("\n")) {
      owners[lines.length] = where;
      lines.push(line);
    }
  }
  writeFileSync(join(work, "check.ts"), lines.join("\n") + "\n");
  writeFileSync(
    join(work, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2022",
        skipLibCheck: true,
        types: [],
      },
      files: ["check.ts"],
    }),
  );
  try {
    execFileSync(join(here, "node_modules", ".bin", "tsc"), ["-p", work], { encoding: "utf8" });
  } catch (error) {
    const output = `${error.stdout ?? ""}${error.stderr ?? ""}`;
    const found = [...output.matchAll(/check\.ts\((\d+),\d+\): error (TS\d+: .*)/g)];
    if (found.length === 0) {
      problems.push({ source: "tsc", kind: "", name: "", problem: output.trim() });
    }
    for (const [, line, message] of found) {
      const where = owners[Number(line) - 1] ?? { source: "check.ts", kind: "", name: "" };
      problems.push({ ...where, problem: `types: ${message}` });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

process.stdout.write(JSON.stringify(problems, null, 2) + "\n");
process.exit(problems.length === 0 ? 0 : 1);
