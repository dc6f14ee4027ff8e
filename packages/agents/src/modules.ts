import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AgentRegistry } from '@strata/engine';

/**
 * Loads custom agent modules (STRATA_AGENT_MODULES): each exports `register(registry)`,
 * which registers handlers for agent types, replacing any built-in one for that type.
 */
export async function loadAgentModules(registry: AgentRegistry, modules: readonly string[], cwd: string): Promise<void> {
  for (const specifier of modules) {
    const url = specifier.startsWith('.') || isAbsolute(specifier) ? pathToFileURL(resolve(cwd, specifier)).href : specifier;
    const module = (await import(url)) as { register?: (registry: AgentRegistry) => unknown; default?: (registry: AgentRegistry) => unknown };
    const register = module.register ?? module.default;
    if (typeof register !== 'function') {
      throw new Error(`Agent module ${specifier} must export a function \`register(registry)\``);
    }
    await register(registry);
  }
}
