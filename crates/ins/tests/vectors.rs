//! Matricule test vectors kept as data in `fixtures/ins_vectors.tsv`.

use segur_ins::Matricule;

#[test]
fn fixture_vectors() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/ins_vectors.tsv"
    );
    let table = std::fs::read_to_string(path).expect("read fixtures/ins_vectors.tsv");
    let mut checked = 0;
    for (n, line) in table
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 3, "line {}: three tab-separated columns", n + 1);
        let (input, expected, why) = (cols[0], cols[1], cols[2]);
        match (Matricule::parse(input), expected) {
            (Ok(_), "ok") => {}
            (Ok(m), _) => panic!(
                "line {}: {input} accepted as {m}, expected '{expected}' ({why})",
                n + 1
            ),
            (Err(e), "ok") => panic!("line {}: {input} refused: {e} ({why})", n + 1),
            (Err(e), fragment) => {
                assert!(
                    e.to_string().contains(fragment),
                    "line {}: {input}: '{e}' lacks '{fragment}' ({why})",
                    n + 1
                )
            }
        }
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} vectors read");
}
