//! The web view's strings, English and Spanish, in one catalog; the language comes from the
//! browser's `Accept-Language` (the first of `en`/`es` by preference, English otherwise).

/// Every string a page shows.
#[derive(Debug)]
pub struct Texts {
    /// `lang` attribute of the page.
    pub lang: &'static str,
    /// Product name in the header.
    pub product: &'static str,
    /// Sign-in page title and button.
    pub sign_in: &'static str,
    /// Sign-out button.
    pub sign_out: &'static str,
    /// User name field.
    pub user: &'static str,
    /// Password field.
    pub password: &'static str,
    /// Wrong name or password.
    pub refused: &'static str,
    /// Too many failed sign-ins.
    pub too_many: &'static str,
    /// A form without its token, or an expired one.
    pub stale_form: &'static str,
    /// The password was right, but the account needs a step the office does not offer.
    pub challenge: &'static str,
    /// Inspections list title.
    pub inspections: &'static str,
    /// Container number.
    pub container: &'static str,
    /// Date range start.
    pub from: &'static str,
    /// Date range end.
    pub to: &'static str,
    /// Open or closed.
    pub state: &'static str,
    /// Any value of a filter.
    pub any: &'static str,
    /// Open inspection.
    pub open: &'static str,
    /// Closed inspection.
    pub closed: &'static str,
    /// Damage filter and column.
    pub damage: &'static str,
    /// Damage found.
    pub damaged: &'static str,
    /// No damage found.
    pub sound: &'static str,
    /// Filter button.
    pub search: &'static str,
    /// Link to older results.
    pub older: &'static str,
    /// Nothing matches.
    pub nothing: &'static str,
    /// Photos column.
    pub photos: &'static str,
    /// Inspector column.
    pub inspector: &'static str,
    /// Start time column.
    pub started: &'static str,
    /// Container history title.
    pub history: &'static str,
    /// Damage boxes count.
    pub boxes: &'static str,
    /// A thumbnail's alternative text, before the photo id (shown in its place when the
    /// photo has none).
    pub photo: &'static str,
    /// A photo without a thumbnail (it did not decode).
    pub no_thumbnail: &'static str,
    /// The phone's verdict.
    pub edge: &'static str,
    /// The cloud's verdict.
    pub cloud: &'static str,
    /// A photo without that verdict.
    pub no_verdict: &'static str,
    /// A verdict that does not read as schema v1.
    pub unreadable_verdict: &'static str,
    /// Model column.
    pub model: &'static str,
    /// Received time.
    pub received: &'static str,
    /// Location.
    pub location: &'static str,
    /// Full-size link.
    pub full_size: &'static str,
    /// Signed in as.
    pub signed_in_as: &'static str,
    /// Not allowed.
    pub forbidden: &'static str,
    /// Nothing here.
    pub not_found: &'static str,
    /// A filter value that does not parse.
    pub bad_filter: &'static str,
    /// Detection on upload status.
    pub detect_status: &'static str,
    /// The review layer and the review filter.
    pub review: &'static str,
    /// Marked reviewed (list mark, filter value).
    pub reviewed: &'static str,
    /// Not marked reviewed (filter value).
    pub not_reviewed: &'static str,
    /// Who marked the inspection reviewed.
    pub reviewed_by: &'static str,
    /// The review form's title.
    pub review_photo: &'static str,
    /// A box of the shown state.
    pub box_word: &'static str,
    /// Class column and select.
    pub class: &'static str,
    /// Keep a box.
    pub keep: &'static str,
    /// Delete a box.
    pub delete: &'static str,
    /// The add-a-box fields.
    pub add_box: &'static str,
    /// How to fill them.
    pub add_box_hint: &'static str,
    /// Submit a review.
    pub save_review: &'static str,
    /// Mark the inspection reviewed.
    pub mark_reviewed: &'static str,
    /// The audit log's title.
    pub audit_log: &'static str,
    /// No review yet.
    pub no_review: &'static str,
    /// The review a photo's first review started from.
    pub started_from: &'static str,
    /// A stale review (409).
    pub stale_review: &'static str,
    /// Reload link.
    pub reload: &'static str,
    /// A review the server refuses (400).
    pub bad_review: &'static str,
    /// A form over the size limit (413).
    pub too_large: &'static str,
    /// Audit: the reviewed mark.
    pub audit_marked: &'static str,
    /// Audit: `{n}` kept as `{class}`.
    pub change_accepted: &'static str,
    /// Audit: `{n}` changed from `{from}` to `{to}`.
    pub change_reclassified: &'static str,
    /// Audit: `{n}` (a `{class}`) deleted.
    pub change_deleted: &'static str,
    /// Audit: a `{class}` box drawn.
    pub change_drawn: &'static str,
    /// The damage classes by class id.
    pub classes: [&'static str; 6],
    /// Why a review form is refused, each with its `{placeholders}`.
    pub why: Why,
    /// The inspection report's section.
    pub report: ReportTexts,
}

/// The inspection report (EIR) section and its download.
#[derive(Debug)]
pub struct ReportTexts {
    /// The section's title.
    pub title: &'static str,
    /// An open inspection.
    pub when_closed: &'static str,
    /// A closed inspection without a kind.
    pub no_kind: &'static str,
    /// Another office is writing it.
    pub in_progress: &'static str,
    /// It could not be written (the error follows).
    pub failed: &'static str,
    /// The EIR number.
    pub number: &'static str,
    /// The inspection revision it reports.
    pub revision: &'static str,
    /// The verdict on the box.
    pub verdict: &'static str,
    /// Faces the kind requires.
    pub required: &'static str,
    /// Faces photographed.
    pub photographed: &'static str,
    /// Faces missing.
    pub missing: &'static str,
    /// The damage lines table's title.
    pub lines: &'static str,
    /// No damage line.
    pub no_lines: &'static str,
    /// Lines not shown (`{n}` more; the PDF has them all).
    pub more_lines: &'static str,
    /// Columns: No., photo, face, location, damage, repair, severity, confidence, source.
    pub columns: [&'static str; 9],
    /// The narrative's title.
    pub narrative: &'static str,
    /// Who wrote it.
    pub written_by: &'static str,
    /// The deterministic rules.
    pub rules: &'static str,
    /// Amazon Nova.
    pub nova: &'static str,
    /// Why Nova's answer was not used.
    pub fallback: &'static str,
    /// Tokens used.
    pub tokens: &'static str,
    /// A line from a review by someone.
    pub review_by: &'static str,
    /// The PDF link.
    pub download: &'static str,
}

/// Why a review form is refused (400), in words.
#[derive(Debug)]
pub struct Why {
    /// `{v}`: the value sent.
    pub class: &'static str,
    /// `{v}`: the value sent.
    pub number: &'static str,
    /// `{v}`: the field's name.
    pub field: &'static str,
    /// `{n}`: the box.
    pub keep: &'static str,
    /// An added box without all its fields.
    pub incomplete: &'static str,
    /// `{max}`: the most boxes.
    pub too_many: &'static str,
    /// A coordinate outside the photo.
    pub outside: &'static str,
    /// `{min}`: the smallest side.
    pub inverted: &'static str,
    /// `{n}` of `{shown}` boxes.
    pub names_box: &'static str,
    /// `{base}`, `{latest}`: revisions.
    pub ahead: &'static str,
}

/// English.
pub static EN: Texts = Texts {
    lang: "en",
    product: "Omni-Inspector office",
    sign_in: "Sign in",
    sign_out: "Sign out",
    user: "User name",
    password: "Password",
    refused: "Wrong user name or password.",
    too_many: "Too many failed sign-ins. Try again later.",
    stale_form: "This form has expired. Reload the page and try again.",
    challenge: "This account must first set a new password, or pass a sign-in step the office does not offer. Ask your administrator.",
    inspections: "Inspections",
    container: "Container",
    from: "From",
    to: "To",
    state: "State",
    any: "Any",
    open: "Open",
    closed: "Closed",
    damage: "Damage",
    damaged: "Damage found",
    sound: "No damage",
    search: "Search",
    older: "Older",
    nothing: "No inspection matches.",
    photos: "Photos",
    inspector: "Inspector",
    started: "Started (UTC)",
    history: "History of container",
    boxes: "damage boxes",
    photo: "Photo",
    no_thumbnail: "This photo has no thumbnail: it could not be read as an image.",
    edge: "Phone (edge)",
    cloud: "Cloud",
    no_verdict: "No verdict from this source.",
    unreadable_verdict: "This verdict cannot be read.",
    model: "Model",
    received: "Received (UTC)",
    location: "Location",
    full_size: "Full size",
    signed_in_as: "Signed in as",
    forbidden: "You may not do this.",
    not_found: "Nothing here.",
    bad_filter: "A filter is not valid",
    detect_status: "Cloud detection",
    review: "Review",
    reviewed: "Reviewed",
    not_reviewed: "Not reviewed",
    reviewed_by: "Marked reviewed by",
    review_photo: "Review this photo",
    box_word: "Box",
    class: "Class",
    keep: "Keep",
    delete: "Delete",
    add_box: "Add a box",
    add_box_hint: "Drag on the photo, or type left, top, right, bottom as fractions (0.25) or percent (25%).",
    save_review: "Save review",
    mark_reviewed: "Mark inspection reviewed",
    audit_log: "Audit log",
    no_review: "No review yet.",
    started_from: "started from the verdict",
    stale_review: "Somebody else reviewed this photo since you opened the page. Nothing was saved: reload the page to see their review, then review again.",
    reload: "Reload the inspection",
    bad_review: "The review was not saved",
    too_large: "The form is too large; nothing was saved.",
    audit_marked: "marked the inspection reviewed",
    change_accepted: "box {n} accepted ({class})",
    change_reclassified: "box {n}: {from} → {to}",
    change_deleted: "box {n} deleted ({class})",
    change_drawn: "drew a {class} box",
    classes: ["dent", "dirt", "rust", "scratch", "spoiled", "mold"],
    why: Why {
        class: "unknown class {v}",
        number: "{v} is not a number",
        field: "unknown field {v}",
        keep: "box {n}: keep or delete?",
        incomplete: "each added box needs a class and four coordinates",
        too_many: "a review holds at most {max} boxes",
        outside: "box coordinates are fractions of the photo in [0, 1] (or 0% to 100%)",
        inverted: "a box needs left < right and top < bottom, each side at least {min} of the photo",
        names_box: "the form names box {n} but the photo shows {shown}",
        ahead: "the form starts from review {base} but the photo has {latest}",
    },
    report: ReportTexts {
        title: "Inspection report (EIR)",
        when_closed: "The report comes when the inspection is closed.",
        no_kind: "This inspection has no kind (gate-in, gate-out, damage survey, off-hire): the report needs one.",
        in_progress: "The report is being written. Reload the page in a moment.",
        failed: "The report could not be written",
        number: "EIR number",
        revision: "Revision",
        verdict: "Verdict",
        required: "Faces required",
        photographed: "Faces photographed",
        missing: "Faces missing",
        lines: "Damage lines",
        no_lines: "No damage lines.",
        more_lines: "{n} more lines in the PDF.",
        columns: [
            "No.",
            "Photo",
            "Face",
            "Location",
            "Damage",
            "Repair",
            "Severity",
            "Confidence",
            "Source",
        ],
        narrative: "Narrative",
        written_by: "Written by",
        rules: "deterministic rules",
        nova: "Amazon Nova",
        fallback: "Nova's answer was not used",
        tokens: "tokens",
        review_by: "review by",
        download: "Download the EIR (PDF)",
    },
};

/// Spanish.
pub static ES: Texts = Texts {
    lang: "es",
    product: "Oficina Omni-Inspector",
    sign_in: "Iniciar sesión",
    sign_out: "Cerrar sesión",
    user: "Usuario",
    password: "Contraseña",
    refused: "Usuario o contraseña incorrectos.",
    too_many: "Demasiados intentos fallidos. Inténtelo más tarde.",
    stale_form: "Este formulario ha caducado. Recargue la página e inténtelo de nuevo.",
    challenge: "Esta cuenta debe antes fijar una contraseña nueva, o pasar un paso de acceso que la oficina no ofrece. Consulte a su administrador.",
    inspections: "Inspecciones",
    container: "Contenedor",
    from: "Desde",
    to: "Hasta",
    state: "Estado",
    any: "Todos",
    open: "Abierta",
    closed: "Cerrada",
    damage: "Daños",
    damaged: "Con daños",
    sound: "Sin daños",
    search: "Buscar",
    older: "Anteriores",
    nothing: "Ninguna inspección coincide.",
    photos: "Fotos",
    inspector: "Inspector",
    started: "Inicio (UTC)",
    history: "Historial del contenedor",
    boxes: "cajas de daño",
    photo: "Foto",
    no_thumbnail: "Esta foto no tiene miniatura: no se pudo leer como imagen.",
    edge: "Teléfono (local)",
    cloud: "Nube",
    no_verdict: "Sin veredicto de esta fuente.",
    unreadable_verdict: "Este veredicto no se puede leer.",
    model: "Modelo",
    received: "Recibida (UTC)",
    location: "Ubicación",
    full_size: "Tamaño completo",
    signed_in_as: "Sesión de",
    forbidden: "No tiene permiso para esto.",
    not_found: "No hay nada aquí.",
    bad_filter: "Un filtro no es válido",
    detect_status: "Detección en la nube",
    review: "Revisión",
    reviewed: "Revisada",
    not_reviewed: "Sin revisar",
    reviewed_by: "Marcada como revisada por",
    review_photo: "Revisar esta foto",
    box_word: "Caja",
    class: "Clase",
    keep: "Conservar",
    delete: "Borrar",
    add_box: "Añadir una caja",
    add_box_hint: "Arrastre sobre la foto, o escriba izquierda, arriba, derecha, abajo como fracciones (0,25) o porcentajes (25%).",
    save_review: "Guardar revisión",
    mark_reviewed: "Marcar la inspección como revisada",
    audit_log: "Registro de auditoría",
    no_review: "Aún no hay revisiones.",
    started_from: "a partir del veredicto",
    stale_review: "Otra persona revisó esta foto después de que usted abriera la página. No se guardó nada: recargue la página para ver su revisión y revise de nuevo.",
    reload: "Recargar la inspección",
    bad_review: "La revisión no se guardó",
    too_large: "El formulario es demasiado grande; no se guardó nada.",
    audit_marked: "marcó la inspección como revisada",
    change_accepted: "caja {n} aceptada ({class})",
    change_reclassified: "caja {n}: {from} → {to}",
    change_deleted: "caja {n} borrada ({class})",
    change_drawn: "dibujó una caja de {class}",
    classes: [
        "abolladura",
        "suciedad",
        "óxido",
        "arañazo",
        "deterioro",
        "moho",
    ],
    why: Why {
        class: "clase desconocida {v}",
        number: "{v} no es un número",
        field: "campo desconocido {v}",
        keep: "caja {n}: ¿conservar o borrar?",
        incomplete: "cada caja añadida necesita una clase y cuatro coordenadas",
        too_many: "una revisión tiene como máximo {max} cajas",
        outside: "las coordenadas son fracciones de la foto en [0, 1] (o de 0% a 100%)",
        inverted: "una caja necesita izquierda < derecha y arriba < abajo, cada lado al menos {min} de la foto",
        names_box: "el formulario nombra la caja {n} pero la foto muestra {shown}",
        ahead: "el formulario parte de la revisión {base} pero la foto tiene {latest}",
    },
    report: ReportTexts {
        title: "Informe de inspección (EIR)",
        when_closed: "El informe estará disponible cuando se cierre la inspección.",
        no_kind: "Esta inspección no tiene tipo (entrada, salida, inspección de daños, devolución): el informe lo necesita.",
        in_progress: "El informe se está redactando. Recargue la página en un momento.",
        failed: "No se pudo redactar el informe",
        number: "Número de EIR",
        revision: "Revisión",
        verdict: "Veredicto",
        required: "Caras obligatorias",
        photographed: "Caras fotografiadas",
        missing: "Caras sin fotografiar",
        lines: "Líneas de daño",
        no_lines: "Sin líneas de daño.",
        more_lines: "{n} líneas más en el PDF.",
        columns: [
            "N.º",
            "Foto",
            "Cara",
            "Ubicación",
            "Daño",
            "Reparación",
            "Gravedad",
            "Confianza",
            "Fuente",
        ],
        narrative: "Descripción",
        written_by: "Redactado por",
        rules: "reglas deterministas",
        nova: "Amazon Nova",
        fallback: "No se usó la respuesta de Nova",
        tokens: "tokens",
        review_by: "revisión de",
        download: "Descargar el EIR (PDF)",
    },
};

impl Texts {
    /// The name of damage class `class_id` (its id when unknown: stored data is shown as is).
    pub fn class_name(&self, class_id: u32) -> String {
        self.classes
            .get(class_id as usize)
            .map_or_else(|| format!("#{class_id}"), |c| (*c).to_owned())
    }
}

/// The catalog for an `Accept-Language` header value.
pub fn texts(accept_language: Option<&str>) -> &'static Texts {
    let mut best: Option<(f32, &'static Texts)> = None;
    for item in accept_language.unwrap_or_default().split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q=")?.parse::<f32>().ok())
            .filter(|q| q.is_finite())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or_default();
        let texts = match primary {
            "es" => &ES,
            "en" => &EN,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, texts));
        }
    }
    best.map_or(&EN, |(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browsers_preference_picks_the_language() {
        assert_eq!(texts(None).lang, "en");
        assert_eq!(texts(Some("es-ES,es;q=0.9,en;q=0.8")).lang, "es");
        assert_eq!(texts(Some("fr-FR,en;q=0.5,es;q=0.7")).lang, "es");
        assert_eq!(texts(Some("de,fr")).lang, "en");
        assert_eq!(texts(Some("es;q=0,en;q=0.1")).lang, "en");
        assert_eq!(texts(Some("es;q=NaN")).lang, "es");
    }

    #[test]
    fn both_catalogs_name_every_class_in_the_protocols_order() {
        assert_eq!(EN.classes, omni_protocol::DAMAGE_CLASSES);
        assert_eq!(ES.class_name(2), "óxido");
        assert_eq!(ES.class_name(9), "#9");
        for t in [&EN, &ES] {
            for template in [t.change_accepted, t.change_deleted] {
                assert!(template.contains("{n}") && template.contains("{class}"));
            }
            assert!(t.change_reclassified.contains("{from}") && t.change_drawn.contains("{class}"));
        }
    }
}
