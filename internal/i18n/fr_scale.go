package i18n

// frScale translates what many followers bring to the staff commands:
// the summed answers to follows in `crieur deliveries`.
func frScale() []Entry {
	return []Entry{
		{"%s, %d activities", "%s, %d activités"},
	}
}
