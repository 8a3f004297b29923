// The phone needs every pixel for the question: the player screen draws its own
// compact bar (home link and language) instead of the site header.
export const load = () => ({ chrome: false });
