//! README.txt and LEESMIJ.txt: what each file of the archive is and how to open it.

use crate::request::Kind;

/// `decisions`: whether the register holds automated decisions (Art. 22), which register.json
/// then describes; a company that takes none is not said to. `files`: whether the archive holds
/// documents the person sent (`files/`); one without is not said to.
pub fn readme_en(controller: &str, request: &str, right: Kind, (decisions, files): (bool, bool)) -> String {
    let what = if right == Kind::Export {
        "the personal data you provided to us and the data observed from your use of our services, in a form you can take to another service (GDPR Art. 20)"
    } else {
        "a copy of all personal data we hold about you (GDPR Art. 15(3))"
    };
    format!(
        "This archive from {controller} answers your request {request}. It holds {what}.\n\n\
index.html      Open this first: your data and how we use it, in readable tables (any web browser, no internet needed).\n\
data.json       All the data, structured by category (JSON), for import into another service.\n\
csv/            One CSV file per kind of record (UTF-8, comma separated, first line names the columns); opens in a spreadsheet.\n\
                Cells that a spreadsheet would run as a formula start with an apostrophe ('); plain numbers such as +31612345678 do not.\n\
{files}register.json   Why we process your data, the legal basis, who received it, how long we keep it,{decided}\n\
                your rights and where to complain.\n\
manifest.json   A list of every file with its SHA-256 checksum, size and number of records, to check the archive is complete.\n\
LEESMIJ.txt     This text in Dutch.\n\n\
If the archive asks for a password, use the passphrase you received separately from us.\n\
Questions or a complaint: see the rights in index.html; you may also complain to the Autoriteit Persoonsgegevens.\n",
        decided = if decisions { " the automated decisions we take and how they work," } else { "" },
        files = if files { "files/          Documents you sent us, such as a CV.\n" } else { "" }
    )
}

pub fn readme_nl(controller: &str, request: &str, right: Kind, (decisions, files): (bool, bool)) -> String {
    let what = if right == Kind::Export {
        "de persoonsgegevens die je ons gaf en de gegevens die we zagen bij je gebruik van onze diensten, in een vorm die je naar een andere dienst kunt meenemen (art. 20 AVG)"
    } else {
        "een kopie van alle persoonsgegevens die we van je hebben (art. 15(3) AVG)"
    };
    format!(
        "Dit archief van {controller} beantwoordt je verzoek {request}. Het bevat {what}.\n\n\
index.html      Open dit eerst: je gegevens en wat we ermee doen, in overzichtelijke tabellen (elke webbrowser, zonder internet).\n\
data.json       Alle gegevens, gestructureerd per categorie (JSON), om in een andere dienst in te lezen.\n\
csv/            Eén CSV-bestand per soort gegevens (UTF-8, kommagescheiden, eerste regel noemt de kolommen); opent in een spreadsheet.\n\
                Cellen die een spreadsheet als formule zou uitvoeren beginnen met een apostrof ('); gewone getallen zoals +31612345678 niet.\n\
{files}register.json   Waarom we je gegevens verwerken, op welke grondslag, wie ze ontving, hoe lang we ze bewaren,{decided}\n\
                je rechten en waar je een klacht indient.\n\
manifest.json   Een lijst van alle bestanden met SHA-256-controlegetal, grootte en aantal records, om te controleren dat het archief compleet is.\n\
README.txt      Deze tekst in het Engels.\n\n\
Vraagt het archief om een wachtwoord, gebruik dan de wachtwoordzin die je apart van ons kreeg.\n\
Vragen of een klacht: zie je rechten in index.html; je kunt ook een klacht indienen bij de Autoriteit Persoonsgegevens.\n",
        decided = if decisions { " de geautomatiseerde besluiten die we nemen en hoe ze werken," } else { "" },
        files = if files { "files/          Documenten die je ons stuurde, zoals een cv.\n" } else { "" }
    )
}
