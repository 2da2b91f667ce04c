export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PICTURE_BYTES = 2 * 1024 * 1024;
export const PICTURE_TYPES = ["image/png", "image/jpeg", "image/webp"];

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** VIN: 17 characters, digits and capital letters except I, O and Q. The server checks the check digit. */
const VIN_RE = /^[A-HJ-NPR-Z0-9]{17}$/;

export function isEmail(value: string): boolean {
  return EMAIL_RE.test(value.trim());
}

/** Returns an i18n key describing what is wrong with the VIN, or null. */
export function vinProblem(vin: string): string | null {
  const v = vin.trim().toUpperCase();
  if (!v) return null;
  if (/[^A-Z0-9]/.test(v) || /[IOQ]/.test(v)) return "vehicles.vinCharset";
  if (v.length !== 17) return "vehicles.vinLength";
  return VIN_RE.test(v) ? null : "vehicles.vinCharset";
}

/** Returns an i18n key describing what is wrong with the picture, or null. */
export function pictureProblem(file: File): string | null {
  if (!PICTURE_TYPES.includes(file.type)) return "profile.pictureType";
  if (file.size > MAX_PICTURE_BYTES) return "profile.pictureSize";
  return null;
}
