import { DynamicModule } from '@nestjs/common';

const built = new WeakMap<object, Map<unknown, DynamicModule>>();

/**
 * A role-dependent module (its controllers only where the API runs, its workers only where they run) built once per
 * configuration: every module that imports it then gets the same instance, as with a static module.
 */
export function modulePerConfig(config: object, module: unknown, build: () => DynamicModule): DynamicModule {
  let modules = built.get(config);
  if (!modules) built.set(config, (modules = new Map()));
  let dynamic = modules.get(module);
  if (!dynamic) modules.set(module, (dynamic = build()));
  return dynamic;
}
