// A client-only single-page app: the Python server answers every page route with
// index.html (see classquiz/routers/web.py); nothing is rendered or prerendered at build.
export const ssr = false;
export const prerender = false;
