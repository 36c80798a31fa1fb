import type { ModuleRef } from '@nestjs/core';

/**
 * The part of `@nestjs/schedule`'s `SchedulerRegistry` the cleanup job uses. Named here, not
 * imported, so that the package's types never require the optional peer.
 */
export interface IntervalRegistry {
  addInterval(name: string, handle: NodeJS.Timeout): void;
  doesExist(type: 'interval', name: string): boolean;
  deleteInterval(name: string): void;
}

/**
 * The app's `SchedulerRegistry`, when `@nestjs/schedule` is installed and `ScheduleModule` is
 * imported; `undefined` otherwise. The package is loaded only here, when the job starts.
 *
 * @param moduleRef resolves the registry from anywhere in the app
 * @returns the registry, or why there is none
 * @example
 * ```ts
 * const found = await findSchedulerRegistry(moduleRef);
 * ```
 */
export async function findSchedulerRegistry(
  moduleRef: ModuleRef,
): Promise<{ registry: IntervalRegistry } | { missing: 'package' | 'module' }> {
  let schedule: { SchedulerRegistry: abstract new (...args: never[]) => IntervalRegistry };
  try {
    schedule = (await import('@nestjs/schedule')) as unknown as typeof schedule;
  } catch {
    return { missing: 'package' };
  }
  try {
    return { registry: moduleRef.get(schedule.SchedulerRegistry, { strict: false }) };
  } catch {
    return { missing: 'module' };
  }
}
