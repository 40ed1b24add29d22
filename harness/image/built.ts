/**
 * What an image backend hands the harness (Stack.imageBackend's ensure): the
 * built node image's folder and boot parts, and the options a build takes.
 * Types only, so the stack, the backends and the cluster can all name them
 * without importing a builder.
 */

export interface BuiltImage {
  stack: string;
  hash: string;
  dir: string;
  disk: string;
  kernel: string;
  initrd: string;
  /** Busybox initramfs that prints a marker once userspace runs. */
  probeInitrd: string;
  builtAt: string;
  buildSeconds: number;
  /**
   * Per-node boot parts, where each node has an image of its own (the nix
   * backend: one NixOS system per node); absent when all nodes boot the one
   * disk, kernel and initrd above.
   */
  nodes?: Record<string, NodeImage>;
}

/** One node's own disk, kernel and initrd, and the kernel arguments its system needs. */
export interface NodeImage {
  disk: string;
  kernel: string;
  initrd: string;
  /** Appended to the harness's kernel command line (a NixOS system's `init=` and its kernelParams). */
  append: string[];
}

export interface EnsureOptions {
  cacheDir: string;
  debianSources?: string;
  /** Drop the cached image of this recipe and build again. */
  rebuild?: boolean;
  /** Print every line of the build (ULTRACLOUD_VERBOSE, through the parsed config). */
  verbose?: boolean;
}
