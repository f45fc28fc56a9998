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
};

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
}
