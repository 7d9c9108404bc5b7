// Packages a platform VSIX that carries the server: copies a `rulec` binary to
// bin/<node platform>-<node arch>/ (where the extension looks for it) and runs
// `vsce package --target <vsce target>`.
//
//   node scripts/package-platform.mjs PATH/TO/rulec [VSCE_TARGET]   (default: this machine)

import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const [binary, target = `${process.platform}-${process.arch}`] = process.argv.slice(2);
if (!binary || !existsSync(binary)) {
  console.error(`error: no server binary at \`${binary ?? ""}\``);
  process.exit(2);
}
// vsce's target names differ from Node's platform-arch in two cases.
const nodeDir = { "linux-armhf": "linux-arm", "alpine-x64": "linux-x64", "alpine-arm64": "linux-arm64" }[target] ?? target;
const exe = target.startsWith("win32") ? "rulec.exe" : "rulec";
const binDir = join(here, "bin");
rmSync(binDir, { recursive: true, force: true });
mkdirSync(join(binDir, nodeDir), { recursive: true });
const dest = join(binDir, nodeDir, exe);
copyFileSync(binary, dest);
chmodSync(dest, 0o755);
try {
  // A debug build carries debug info the extension does not need.
  execFileSync("strip", [dest], { stdio: "inherit" });
} catch {
  console.warn("warning: `strip` failed; packaging the binary as it is");
}
try {
  execFileSync(
    "npx",
    ["vsce", "package", "--no-dependencies", "--allow-missing-repository", "--target", target],
    { cwd: here, stdio: "inherit" },
  );
} finally {
  rmSync(binDir, { recursive: true, force: true });
}
