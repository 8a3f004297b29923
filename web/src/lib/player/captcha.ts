// The join captcha's widget (issue 15): hCaptcha, reCAPTCHA v3 or Cloudflare Turnstile,
// as GET /api/v1/games/{pin} names it (`captcha: {provider, site_key}`). The widget's
// token goes into the handshake's `auth.captcha`; the server checks it with the
// provider. The provider's script is loaded only on a join page that needs it, and
// the server's Content-Security-Policy allows exactly that provider's sources.
import type { Schemas } from '$lib/api';

export type CaptchaInfo = NonNullable<Schemas['GameInfoOut']['captcha']>;

/** Each provider's documented script, in explicit-render mode (we choose where and when). */
export function scriptUrl(captcha: CaptchaInfo): string {
	switch (captcha.provider) {
		case 'hcaptcha':
			return 'https://js.hcaptcha.com/1/api.js?render=explicit&recaptchacompat=off';
		case 'turnstile':
			return 'https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit';
		case 'recaptcha':
			return `https://www.google.com/recaptcha/api.js?render=${encodeURIComponent(captcha.site_key)}`;
	}
}

/** The action the server expects a reCAPTCHA v3 token to be made for. */
export const RECAPTCHA_ACTION = 'join';
/** reCAPTCHA v3 tokens live two minutes: a fresh one well before that. */
const RECAPTCHA_REFRESH_MS = 90_000;

type RenderOptions = {
	sitekey: string;
	action?: string;
	callback: (token: string) => void;
	'expired-callback': () => void;
	'error-callback': () => void;
};
type Checkbox = {
	render(el: HTMLElement, options: RenderOptions): string | number;
	remove(id: string | number): void;
};
type Recaptcha = {
	ready(callback: () => void): void;
	execute(siteKey: string, options: { action: string }): Promise<string>;
};
type ProviderGlobals = { hcaptcha?: Checkbox; turnstile?: Checkbox; grecaptcha?: Recaptcha };

const scripts = new Map<string, Promise<void>>();

function loadScript(url: string): Promise<void> {
	let loading = scripts.get(url);
	if (!loading) {
		loading = new Promise<void>((resolve, reject) => {
			const script = document.createElement('script');
			script.src = url;
			script.async = true;
			script.onload = () => resolve();
			script.onerror = () => {
				scripts.delete(url);
				script.remove();
				reject(new Error(`cannot load ${url}`));
			};
			document.head.append(script);
		});
		scripts.set(url, loading);
	}
	return loading;
}

/** A shown widget; `remove` takes it away (a new one is mounted to start over). */
export type CaptchaWidget = { remove(): void };

/**
 * Show the provider's widget in `el`; `ontoken` hears every new token, and null when
 * the token expired or the widget failed. Rejects when the script cannot be loaded.
 */
export async function mountCaptcha(
	captcha: CaptchaInfo,
	el: HTMLElement,
	ontoken: (token: string | null) => void
): Promise<CaptchaWidget> {
	await loadScript(scriptUrl(captcha));
	const globals = window as unknown as ProviderGlobals;
	if (captcha.provider === 'recaptcha') {
		const grecaptcha = globals.grecaptcha;
		if (!grecaptcha) throw new Error('reCAPTCHA did not start');
		await new Promise<void>((resolve) => grecaptcha.ready(resolve));
		let stopped = false;
		const refresh = () =>
			grecaptcha.execute(captcha.site_key, { action: RECAPTCHA_ACTION }).then(
				(token) => stopped || ontoken(token),
				() => stopped || ontoken(null)
			);
		void refresh();
		const timer = setInterval(refresh, RECAPTCHA_REFRESH_MS);
		return {
			remove() {
				stopped = true;
				clearInterval(timer);
			}
		};
	}
	const api = captcha.provider === 'hcaptcha' ? globals.hcaptcha : globals.turnstile;
	if (!api) throw new Error(`${captcha.provider} did not start`);
	const id = api.render(el, {
		sitekey: captcha.site_key,
		...(captcha.provider === 'turnstile' ? { action: RECAPTCHA_ACTION } : {}),
		callback: (token) => ontoken(token),
		'expired-callback': () => ontoken(null),
		'error-callback': () => ontoken(null)
	});
	return { remove: () => api.remove(id) };
}
