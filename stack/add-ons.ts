// Components a running stack can gain. Each depends on no other component, so `up` on a live
// stack that lacks one (started before the component existed) starts just that one.

import type { Launcher } from './launcher.ts';
import {
  type AddOnName,
  addOnNames,
  type Binaries,
  type Endpoints,
  type Ports,
  type StackState,
  type StoredState,
} from './layout.ts';
import { startMoto } from './moto.ts';
import { startNotifyReceiver } from './notify-receiver-start.ts';
import { startZot } from './zot.ts';

interface AddOn<N extends AddOnName> {
  binaries: (keyof Binaries)[];
  /** Checked free before it starts, so a clash names the port instead of a crash log. */
  ports: (keyof Ports)[];
  start(l: Launcher): Promise<Endpoints[N]>;
}

const addOns: { [N in AddOnName]: AddOn<N> } = {
  moto: { binaries: ['motoPython', 'motoServer'], ports: ['moto'], start: startMoto },
  zot: { binaries: ['zot', 'htpasswd'], ports: ['zot'], start: startZot },
  notifyReceiver: { binaries: [], ports: ['notifyReceiver'], start: startNotifyReceiver },
};

export function missingAddOns(state: StoredState): AddOnName[] {
  return addOnNames.filter((name) => state.endpoints[name] === undefined);
}

/** True when the state records every add-on, as each `up` of this version leaves it. */
export function hasEveryAddOn(state: StoredState): state is StackState {
  return missingAddOns(state).length === 0;
}

export const addOnBinaries = (names: readonly AddOnName[]) => names.flatMap((n) => addOns[n].binaries);
export const addOnPorts = (names: readonly AddOnName[]) => names.flatMap((n) => addOns[n].ports);

/** Starts the named add-ons together; the first that fails rejects (the caller stops what started). */
export async function startAddOns<N extends AddOnName>(
  names: readonly N[],
  l: Launcher,
): Promise<Pick<Endpoints, N>> {
  const entries = await Promise.all(
    names.map(async (name) => [name, await (addOns[name] as AddOn<N>).start(l)] as const),
  );
  return Object.fromEntries(entries) as Pick<Endpoints, N>;
}
