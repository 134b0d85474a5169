import { execFileSync } from "node:child_process";

function onPath(binary: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure `binary` exists: as root runs `apt-get install -y <pkg>`; otherwise prints what to
 * install and exits non-zero.
 */
export function ensureDebianPackage(binary: string, pkg: string): void {
  if (onPath(binary)) return;
  if (process.getuid?.() !== 0) {
    console.error(`\`${binary}\` is missing. Install it with: sudo apt-get install -y ${pkg}`);
    process.exit(2);
  }
  console.error(`\`${binary}\` is missing; running apt-get install -y ${pkg}`);
  execFileSync("apt-get", ["install", "-y", pkg], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (!onPath(binary)) throw new Error(`apt-get install ${pkg} did not provide ${binary}`);
}
