import type { User } from "./types";
import { orNull } from "./format";

/** Editable profile fields as strings, as bound to the form inputs. */
export interface ProfileForm {
  firstName: string;
  lastName: string;
  phone: string;
  mobile: string;
  language: string;
  street: string;
  postalCode: string;
  city: string;
  region: string;
  country: string;
  professionalId: string;
  costCenter: string;
  company: string;
  department: string;
}

export function profileForm(user: User): ProfileForm {
  const a = user.address;
  return {
    firstName: user.firstName ?? "",
    lastName: user.lastName ?? "",
    phone: user.phone ?? "",
    mobile: user.mobile ?? "",
    language: user.language ?? "EN",
    street: a?.street ?? "",
    postalCode: a?.postalCode ?? "",
    city: a?.city ?? "",
    region: a?.region ?? "",
    country: a?.country ?? "",
    professionalId: user.professionalId ?? "",
    costCenter: user.costCenter ?? "",
    company: user.company ?? "",
    department: user.department ?? "",
  };
}

/** ProfileInput for the API. Emptied optional fields are sent as null (cleared). */
export function profileInput(form: ProfileForm) {
  return {
    firstName: form.firstName.trim(),
    lastName: form.lastName.trim(),
    phone: orNull(form.phone),
    mobile: orNull(form.mobile),
    language: form.language,
    address: {
      street: orNull(form.street),
      postalCode: orNull(form.postalCode),
      city: orNull(form.city),
      region: orNull(form.region),
      country: orNull(form.country),
    },
    professionalId: orNull(form.professionalId),
    costCenter: orNull(form.costCenter),
    company: orNull(form.company),
    department: orNull(form.department),
  };
}

export function validateProfile(form: ProfileForm, t: (id: string) => string): Record<string, string> {
  const errors: Record<string, string> = {};
  if (!form.firstName.trim()) errors.firstName = t("validation.required");
  if (!form.lastName.trim()) errors.lastName = t("validation.required");
  return errors;
}
