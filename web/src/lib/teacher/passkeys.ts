/**
 * Passkeys (WebAuthn) in the browser. The server sends the options in their JSON
 * form (every byte string as base64url) and wants the browser's credential back in
 * the same form; `navigator.credentials` speaks ArrayBuffers. This file converts
 * both ways by hand rather than with `PublicKeyCredential.parseCreationOptionsFromJSON`
 * and `toJSON()`, which not every browser that has passkeys has yet.
 *
 * Two ceremonies: registering a passkey (signed in, on /account) and signing in
 * with one (on /login, no username: the authenticator offers the passkeys it holds
 * for this site). Each is options from the server, the authenticator, the answer
 * to the server, which checks it against the one-use challenge.
 */
import { api, unwrap, type Schemas } from '$lib/api';

type Json = Record<string, unknown>;

export function base64urlToBytes(text: string): Uint8Array<ArrayBuffer> {
	const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
	const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
	const binary = atob(padded);
	const bytes = new Uint8Array(binary.length);
	for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
	return bytes;
}

export function bytesToBase64url(buffer: ArrayBuffer | ArrayBufferView): string {
	const bytes =
		buffer instanceof ArrayBuffer ? new Uint8Array(buffer) : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
	let binary = '';
	for (const byte of bytes) binary += String.fromCharCode(byte);
	return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function descriptors(list: unknown): PublicKeyCredentialDescriptor[] {
	if (!Array.isArray(list)) return [];
	return list.map((item: Json) => ({
		type: 'public-key',
		id: base64urlToBytes(String(item.id)),
		transports: Array.isArray(item.transports) ? (item.transports as AuthenticatorTransport[]) : undefined
	}));
}

/** The server's PublicKeyCredentialCreationOptionsJSON as the browser wants it. */
export function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
	const user = json.user as Json;
	return {
		...(json as unknown as PublicKeyCredentialCreationOptions),
		challenge: base64urlToBytes(String(json.challenge)),
		user: { ...(user as unknown as PublicKeyCredentialUserEntity), id: base64urlToBytes(String(user.id)) },
		excludeCredentials: descriptors(json.excludeCredentials)
	};
}

/** The server's PublicKeyCredentialRequestOptionsJSON as the browser wants it. */
export function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
	return {
		...(json as unknown as PublicKeyCredentialRequestOptions),
		challenge: base64urlToBytes(String(json.challenge)),
		allowCredentials: descriptors(json.allowCredentials)
	};
}

/** A new credential as RegistrationResponseJSON. */
export function registrationJSON(credential: PublicKeyCredential): Json {
	const response = credential.response as AuthenticatorAttestationResponse;
	return {
		id: credential.id,
		rawId: bytesToBase64url(credential.rawId),
		type: credential.type,
		authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
		clientExtensionResults: credential.getClientExtensionResults(),
		response: {
			clientDataJSON: bytesToBase64url(response.clientDataJSON),
			attestationObject: bytesToBase64url(response.attestationObject),
			transports: typeof response.getTransports === 'function' ? response.getTransports() : []
		}
	};
}

/** An assertion as AuthenticationResponseJSON. */
export function authenticationJSON(credential: PublicKeyCredential): Json {
	const response = credential.response as AuthenticatorAssertionResponse;
	return {
		id: credential.id,
		rawId: bytesToBase64url(credential.rawId),
		type: credential.type,
		authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
		clientExtensionResults: credential.getClientExtensionResults(),
		response: {
			clientDataJSON: bytesToBase64url(response.clientDataJSON),
			authenticatorData: bytesToBase64url(response.authenticatorData),
			signature: bytesToBase64url(response.signature),
			userHandle: response.userHandle ? bytesToBase64url(response.userHandle) : undefined
		}
	};
}

/** Whether this browser can make and use passkeys at all (https or localhost, and an API). */
export function passkeysSupported(): boolean {
	return typeof window !== 'undefined' && window.isSecureContext && typeof window.PublicKeyCredential === 'function';
}

/** The person closed the authenticator's prompt (or it timed out): not an error to show. */
export function wasCancelled(error: unknown): boolean {
	return error instanceof DOMException && (error.name === 'NotAllowedError' || error.name === 'AbortError');
}

/** The authenticator holds a passkey of this account already (the server listed it). */
export function alreadyOnDevice(error: unknown): boolean {
	return error instanceof DOMException && error.name === 'InvalidStateError';
}

/** Register a passkey named `name` on this account; the new passkey. */
export async function addPasskey(name: string): Promise<Schemas['PasskeyOut']> {
	const started = await unwrap(api.POST('/api/v1/users/passkeys/options'));
	const credential = (await navigator.credentials.create({
		publicKey: creationOptions(started.options)
	})) as PublicKeyCredential | null;
	if (!credential) throw new DOMException('no passkey was made', 'NotAllowedError');
	return unwrap(
		api.POST('/api/v1/users/passkeys', {
			body: { ceremony_id: started.ceremony_id, name, credential: registrationJSON(credential) }
		})
	);
}

/** Sign in with a passkey the authenticator offers; the server sets the session cookie. */
export async function passkeySignIn(): Promise<void> {
	const started = await unwrap(api.POST('/api/v1/auth/passkeys/options'));
	const credential = (await navigator.credentials.get({
		publicKey: requestOptions(started.options)
	})) as PublicKeyCredential | null;
	if (!credential) throw new DOMException('no passkey was chosen', 'NotAllowedError');
	await unwrap(
		api.POST('/api/v1/auth/passkeys/sign-in', {
			body: { ceremony_id: started.ceremony_id, credential: authenticationJSON(credential) }
		})
	);
}
