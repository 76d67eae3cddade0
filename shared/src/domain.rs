//! The vocabulary of the support line (see `docs/domain.md`), as types that
//! can only hold valid values. Wire names are the snake_case words of the domain.

/// Declares a closed set of wire words as a Rust enum with serde, `as_str` and `ALL`.
/// An unknown word is refused with the list of allowed ones, so a client sees what fits.
#[macro_export]
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire word.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses a wire word.
            pub fn parse(text: &str) -> Result<Self, String> {
                match text {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(format!(
                        "must be one of: {}",
                        [$($wire),+].join(", ")
                    )),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub use crate::wire_enum;

wire_enum!(
    /// The office the threatened person holds.
    Role {
        Mayor => "mayor",
        Alderman => "alderman",
        CouncilMember => "council_member",
        WaterBoardMember => "water_board_member",
        ProvincialCouncilMember => "provincial_council_member",
        ProvincialExecutive => "provincial_executive",
        KingsCommissioner => "kings_commissioner",
        OtherOfficeHolder => "other_office_holder",
    }
);

wire_enum!(
    /// Who files the report: the office holder, or someone on their behalf.
    Relation {
        OfficeHolder => "self",
        FamilyMember => "family_member",
        Staff => "staff",
    }
);

wire_enum!(
    /// The confidant organisations of the support team.
    Organisation {
        /// Nederlands Genootschap van Burgemeesters.
        Ngb => "ngb",
        /// Wethoudersvereniging.
        Wethoudersvereniging => "wethoudersvereniging",
        /// Nederlandse Vereniging voor Raadsleden.
        Nvvr => "nvvr",
        /// Ministry of the Interior (BZK).
        Bzk => "bzk",
    }
);

wire_enum!(
    /// What the reporter asks for.
    RequestKind {
        Incident => "incident",
        Prevention => "prevention",
        Aftercare => "aftercare",
    }
);

wire_enum!(
    /// What happened; several may apply to one report.
    IncidentKind {
        PhysicalViolence => "physical_violence",
        ThreatOfViolence => "threat_of_violence",
        Intimidation => "intimidation",
        VerbalAggression => "verbal_aggression",
        OnlineHarassment => "online_harassment",
        /// Home address or family details published.
        Doxxing => "doxxing",
        Stalking => "stalking",
        PropertyDamage => "property_damage",
        FamilyTargeted => "family_targeted",
        Other => "other",
    }
);

wire_enum!(
    /// Why a confidant plans a check-in on a case: aftercare and prevention as work.
    CheckInPurpose {
        AftercareCall => "aftercare_call",
        PreventionVisit => "prevention_visit",
        SecurityReview => "security_review",
        LegalFollowUp => "legal_follow_up",
        PeerContact => "peer_contact",
    }
);

wire_enum!(
    /// How a check-in went.
    CheckInOutcome {
        /// The office holder was reached.
        Reached => "reached",
        /// Tried, not reached.
        NotReached => "not_reached",
        /// Reached, and the office holder declined the contact.
        Declined => "declined",
    }
);

wire_enum!(
    /// Help a case can need.
    SupportNeed {
        Security => "security",
        Legal => "legal",
        Aftercare => "aftercare",
        Peer => "peer",
        Prevention => "prevention",
    }
);

wire_enum!(
    /// The kinds of expertise of the network's experts.
    Expertise {
        Security => "security",
        Legal => "legal",
        Aftercare => "aftercare",
    }
);

wire_enum!(
    /// Whether this is the first time, or a repeated or ongoing situation.
    Recurrence {
        First => "first",
        Repeated => "repeated",
    }
);

wire_enum!(
    /// The language a person wants to be answered in.
    Language {
        Dutch => "nl",
        English => "en",
    }
);

wire_enum!(
    /// Urgency of a case; P1 is the most urgent. Ordered so that `P1 < P4`.
    Priority {
        /// Acute: first contact within 15 minutes, 24/7.
        P1 => "P1",
        /// Urgent: within 4 hours.
        P2 => "P2",
        /// Standard: within 24 hours.
        P3 => "P3",
        /// Advice: within 72 hours.
        P4 => "P4",
    }
);

impl Priority {
    /// One step more urgent, never above P1.
    pub fn raised(self) -> Priority {
        match self {
            Priority::P1 | Priority::P2 => Priority::P1,
            Priority::P3 => Priority::P2,
            Priority::P4 => Priority::P3,
        }
    }

    /// Whether `self` is at least as urgent as `other`.
    pub fn at_least(self, other: Priority) -> bool {
        self <= other
    }
}

wire_enum!(
    /// Where a case is in its life.
    CaseStatus {
        Received => "received",
        Triaged => "triaged",
        Assigned => "assigned",
        InProgress => "in_progress",
        Aftercare => "aftercare",
        Closed => "closed",
        Reopened => "reopened",
    }
);

impl CaseStatus {
    /// The lifecycle: `received → triaged → assigned → in_progress → aftercare → closed`,
    /// a case may be closed from any open state, and a closed case can be reopened,
    /// after which it is worked again from assignment.
    pub fn may_become(self, next: CaseStatus) -> bool {
        use CaseStatus::*;
        matches!(
            (self, next),
            (Received, Triaged)
                | (Triaged, Assigned)
                | (Assigned, InProgress)
                | (InProgress, Aftercare)
                | (Reopened, Assigned)
                | (Reopened, InProgress)
                | (Received | Triaged | Assigned | InProgress | Aftercare | Reopened, Closed)
                | (Closed, Reopened)
        )
    }

    /// Whether the case still needs work.
    pub fn is_open(self) -> bool {
        self != CaseStatus::Closed
    }
}

wire_enum!(
    /// The twelve provinces.
    Province {
        Groningen => "groningen",
        Friesland => "friesland",
        Drenthe => "drenthe",
        Overijssel => "overijssel",
        Gelderland => "gelderland",
        Utrecht => "utrecht",
        NoordHolland => "noord_holland",
        ZuidHolland => "zuid_holland",
        Zeeland => "zeeland",
        NoordBrabant => "noord_brabant",
        Limburg => "limburg",
        Flevoland => "flevoland",
    }
);

wire_enum!(
    /// The 25 safety regions (veiligheidsregio's), by code.
    RegionCode {
        Vr01 => "VR01", Vr02 => "VR02", Vr03 => "VR03", Vr04 => "VR04", Vr05 => "VR05",
        Vr06 => "VR06", Vr07 => "VR07", Vr08 => "VR08", Vr09 => "VR09", Vr10 => "VR10",
        Vr11 => "VR11", Vr12 => "VR12", Vr13 => "VR13", Vr14 => "VR14", Vr15 => "VR15",
        Vr16 => "VR16", Vr17 => "VR17", Vr18 => "VR18", Vr19 => "VR19", Vr20 => "VR20",
        Vr21 => "VR21", Vr22 => "VR22", Vr23 => "VR23", Vr24 => "VR24", Vr25 => "VR25",
    }
);

impl RegionCode {
    /// The region's name and province, as in the domain table.
    fn entry(self) -> (&'static str, Province) {
        use Province::*;
        use RegionCode::*;
        match self {
            Vr01 => ("Groningen", Groningen),
            Vr02 => ("Fryslân", Friesland),
            Vr03 => ("Drenthe", Drenthe),
            Vr04 => ("IJsselland", Overijssel),
            Vr05 => ("Twente", Overijssel),
            Vr06 => ("Noord- en Oost-Gelderland", Gelderland),
            Vr07 => ("Gelderland-Midden", Gelderland),
            Vr08 => ("Gelderland-Zuid", Gelderland),
            Vr09 => ("Utrecht", Utrecht),
            Vr10 => ("Noord-Holland Noord", NoordHolland),
            Vr11 => ("Zaanstreek-Waterland", NoordHolland),
            Vr12 => ("Kennemerland", NoordHolland),
            Vr13 => ("Amsterdam-Amstelland", NoordHolland),
            Vr14 => ("Gooi en Vechtstreek", NoordHolland),
            Vr15 => ("Haaglanden", ZuidHolland),
            Vr16 => ("Hollands Midden", ZuidHolland),
            Vr17 => ("Rotterdam-Rijnmond", ZuidHolland),
            Vr18 => ("Zuid-Holland Zuid", ZuidHolland),
            Vr19 => ("Zeeland", Zeeland),
            Vr20 => ("Midden- en West-Brabant", NoordBrabant),
            Vr21 => ("Brabant-Noord", NoordBrabant),
            Vr22 => ("Brabant-Zuidoost", NoordBrabant),
            Vr23 => ("Limburg-Noord", Limburg),
            Vr24 => ("Zuid-Limburg", Limburg),
            Vr25 => ("Flevoland", Flevoland),
        }
    }

    /// The region's name.
    pub fn name(self) -> &'static str {
        self.entry().0
    }

    /// The province the region lies in.
    pub fn province(self) -> Province {
        self.entry().1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_province_has_a_region_and_there_are_25_regions() {
        assert_eq!(RegionCode::ALL.len(), 25);
        for p in Province::ALL {
            assert!(RegionCode::ALL.iter().any(|r| r.province() == *p), "{p}");
        }
        assert_eq!(RegionCode::Vr13.name(), "Amsterdam-Amstelland");
        assert_eq!(RegionCode::Vr05.province(), Province::Overijssel);
    }

    #[test]
    fn unknown_words_are_refused_with_the_allowed_ones() {
        let err = serde_json::from_str::<Role>("\"king\"").unwrap_err().to_string();
        assert!(err.contains("mayor") && err.contains("council_member"), "{err}");
        assert_eq!(serde_json::from_str::<Relation>("\"self\"").unwrap(), Relation::OfficeHolder);
        assert!(serde_json::from_str::<RegionCode>("\"VR26\"").is_err());
        assert!(serde_json::from_str::<RegionCode>("\"vr01\"").is_err());
    }

    #[test]
    fn raising_priority_never_goes_above_p1() {
        assert_eq!(Priority::P4.raised(), Priority::P3);
        assert_eq!(Priority::P2.raised(), Priority::P1);
        assert_eq!(Priority::P1.raised(), Priority::P1);
        assert!(Priority::P1.at_least(Priority::P2));
        assert!(!Priority::P3.at_least(Priority::P2));
    }

    #[test]
    fn lifecycle_allows_the_documented_path_and_nothing_backwards() {
        use CaseStatus::*;
        let path = [Received, Triaged, Assigned, InProgress, Aftercare, Closed, Reopened, Assigned];
        for pair in path.windows(2) {
            assert!(pair[0].may_become(pair[1]), "{} -> {}", pair[0], pair[1]);
        }
        assert!(!Closed.may_become(InProgress));
        assert!(!Assigned.may_become(Triaged));
        assert!(!Received.may_become(Assigned));
        assert!(!Closed.may_become(Closed));
    }
}
