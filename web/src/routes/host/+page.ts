// The presenter screen fills the projector: no site header (see +layout.svelte).
export const load = () => ({ chrome: false });
