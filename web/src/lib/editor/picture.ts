/**
 * A question's picture: either an address typed by the teacher (https://…) or a
 * picture uploaded to this server (POST /api/v1/media answers with its `url`,
 * `/media/<id>.<ext>`, which is what the question keeps). The server decides what a
 * picture is (it decodes the file); the browser only offers the four kinds it keeps.
 */
import { api, unwrap, type Schemas } from '$lib/api';

/** What the file chooser offers (the server refuses anything else it cannot decode). */
export const PICTURE_TYPES = 'image/png,image/jpeg,image/webp,image/gif';

const UPLOADED = /^\/media\/[0-9a-f-]{36}\.(png|jpg|webp|gif)$/;
const WEB_ADDRESS = /^https?:\/\/\S+$/;

/** The address to show a preview of, or null when `image` cannot be one. */
export function previewAddress(image: string): string | null {
	const value = image.trim();
	return UPLOADED.test(value) || WEB_ADDRESS.test(value) ? value : null;
}

/** Whether `image` names a picture uploaded to this server. */
export function isUploaded(image: string): boolean {
	return UPLOADED.test(image.trim());
}

/** The multipart body of an upload: the file under the field name the server reads. */
export function pictureForm(file: Blob, filename: string): FormData {
	const form = new FormData();
	form.append('file', file, filename);
	return form;
}

/** Upload `file`; its stored picture, or an ApiError (415 unsupported_image, 413, 409 quota…). */
export async function uploadPicture(file: File): Promise<Schemas['MediaOut']> {
	const body = pictureForm(file, file.name) as unknown as Schemas['MediaUploadForm'];
	// openapi-fetch sends a FormData as it is (multipart, with the browser's boundary).
	return unwrap(api.POST('/api/v1/media', { body }));
}
