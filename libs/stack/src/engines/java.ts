import { statSync } from 'node:fs';
import { join } from 'node:path';
import { javaMissing } from '../errors';
import { resolveExecutable, runToExit } from '../process';

/** Major version from `java -version` output: "17.0.15" -> 17, "1.8.0_292" -> 8, "21" -> 21. */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}

const isExecutableFile = (p: string): boolean => {
  try {
    const st = statSync(p);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
};

/** java from javaHome, else JAVA_HOME, else PATH (all read at call time); must be Java 17+. */
export async function resolveJava(env: NodeJS.ProcessEnv, javaHome?: string): Promise<string> {
  const home = javaHome ?? env.JAVA_HOME;
  let java: string | undefined;
  if (home) {
    java = join(home, 'bin', 'java');
    if (!isExecutableFile(java))
      throw javaMissing(`${javaHome ? 'javaHome' : 'JAVA_HOME'}=${home} has no bin/java`);
  } else {
    java = resolveExecutable('java', env);
    if (!java) throw javaMissing('java was not found on PATH');
  }
  const { output, code } = await runToExit(java, ['-version'], { env, timeoutMs: 20_000 });
  if (code !== 0) throw javaMissing(`${java} -version failed (exit ${code}): ${output.trim().slice(0, 300)}`);
  const major = parseJavaMajor(output);
  if (major !== undefined && major < 17) throw javaMissing(`${java} is Java ${major}`);
  return java;
}
