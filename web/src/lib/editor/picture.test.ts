import { describe, expect, it } from 'vitest';
import { isUploaded, pictureForm, previewAddress } from './picture';

const UPLOADED = '/media/0b6b4a4e-6a48-4c1b-9a3b-1c2d3e4f5a6b.webp';

describe('picture addresses', () => {
	it('previews web addresses and pictures uploaded here, nothing else', () => {
		expect(previewAddress(' https://example.org/cat.png ')).toBe('https://example.org/cat.png');
		expect(previewAddress(UPLOADED)).toBe(UPLOADED);
		expect(previewAddress('/media/../etc/passwd')).toBeNull();
		expect(previewAddress('javascript:alert(1)')).toBeNull();
		expect(previewAddress('')).toBeNull();
	});

	it('tells an uploaded picture from an address', () => {
		expect(isUploaded(UPLOADED)).toBe(true);
		expect(isUploaded('https://example.org/media/x.png')).toBe(false);
	});
});

describe('pictureForm', () => {
	it('sends the file under the field the server reads', () => {
		const form = pictureForm(new Blob(['x'], { type: 'image/png' }), 'cat.png');
		const file = form.get('file');
		expect(file).toBeInstanceOf(Blob);
		expect((file as File).name).toBe('cat.png');
		expect([...form.keys()]).toEqual(['file']);
	});
});
