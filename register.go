package gdpr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Register is the record of processing activities a controller maintains
// under Art. 30(1): who the controller is and, for each processing activity,
// its purpose, lawful basis, categories of subjects and data, recipients,
// transfers to third countries, retention and security measures.
//
// The packages of this module read the Register to answer the right of
// access (Art. 15(1)), to check that a purpose is declared before consent to
// it is recorded, and to find retention periods. A host usually keeps it in
// a JSON file, read with ParseRegister and written with WriteJSON.
//
// The contact details in a Register (names, e-mail addresses, telephone
// numbers of the controller, the representative and the data protection
// officer) may be personal data of the people named; Validate never puts
// them into an error.
//
// A Register may be read concurrently, but not read while it is modified.
// The packages that take a Register (a consent ledger, an export builder)
// keep the pointer and read it without locking, so a Register handed to
// another package must not be modified afterwards. To keep editing it, hand
// over r.Clone() instead, or build a new Register and hand that over.
type Register struct {
	// Controller is the controller, Art. 30(1)(a): name and contact details.
	Controller Party `json:"controller"`
	// Representative is the controller's representative in the Union under
	// Art. 27, if any.
	Representative *Party `json:"representative,omitempty"`
	// DPO is the data protection officer of Art. 37, if any: a name and at
	// least one contact detail (Art. 30(1)(a): "the name and contact
	// details of ... the data protection officer"). The name may be a role
	// title such as "Data Protection Officer" rather than a person's name,
	// as Art. 37(7) asks only that the contact details be published.
	DPO *Party `json:"dpo,omitempty"`
	// Activities are the processing activities, one per purpose.
	Activities []Activity `json:"activities"`
}

// Party is a controller, joint controller, representative or data
// protection officer: a name and contact details.
type Party struct {
	Name    string `json:"name"`
	Address string `json:"address,omitempty"`
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
	URL     string `json:"url,omitempty"`
}

// hasContact reports whether p has at least one contact detail.
func (p Party) hasContact() bool {
	return !blank(p.Address) || !blank(p.Email) || !blank(p.Phone) || !blank(p.URL)
}

// Activity is one processing activity of the Register (Art. 30(1)(b)–(g)),
// which serves exactly one Purpose.
type Activity struct {
	// ID is the stable key of the activity, unique in the Register.
	ID string `json:"id"`
	// Name is a short human-readable name.
	Name string `json:"name,omitempty"`
	// Purpose is the purpose of the processing (Art. 30(1)(b)), unique in
	// the Register: the key consent and other records refer to. Default
	// (left empty): the activity's ID, as Register.Activity and Validate
	// take it; see Activity.PurposeKey.
	Purpose Purpose `json:"purpose,omitempty"`
	// Description describes the purpose in plain words for the subject.
	Description string `json:"description,omitempty"`
	// JointControllers are the controllers that determine the purposes and
	// means of this activity jointly with the Register's controller
	// (Art. 26), each with a name and at least one contact detail, as
	// Art. 30(1)(a) asks for "the name and contact details of the
	// controller and, where applicable, the joint controller".
	JointControllers []Party `json:"joint_controllers,omitempty"`
	// Basis is the lawful basis of Art. 6(1), or ExplicitConsent; required.
	// Explicit consent is the condition of Art. 9(2)(a) for special
	// categories, and is also what Art. 22(2)(c) (automated decisions) and
	// Art. 49(1)(a) (transfers) ask for, so it is valid without special
	// categories too.
	Basis LawfulBasis `json:"basis"`
	// LegitimateInterestAssessment refers to the documented assessment
	// (balancing test) that supports Basis LegitimateInterests, where it is
	// required. It is a reference such as a document ID, not the text.
	LegitimateInterestAssessment string `json:"lia_ref,omitempty"`
	// SpecialCondition is the letter, "a" to "j", of the condition of
	// Art. 9(2) under which special categories of data of Art. 9(1) are
	// processed. Required when a data category is one of Art. 9(1), unless
	// Basis is ExplicitConsent (which is Art. 9(2)(a) itself). Condition "a"
	// requires Basis ExplicitConsent. The GDPR itself would allow condition
	// (a) beside another basis of Art. 6(1); this module does not, because
	// it models explicit consent (Art. 9(2)(a)) through its consent ledger:
	// the consent package demands explicit consent for a purpose exactly
	// when its activity records basis explicit_consent. An activity whose
	// special categories rest on explicit consent therefore records Basis
	// ExplicitConsent, so that the ledger asks for and keeps that consent,
	// and the subject can withdraw it (Art. 7(3)).
	// Criminal-offence data (CriminalOffences) are not an Art. 9(1)
	// category and need no condition here, but CriminalDataAuthority.
	SpecialCondition string `json:"special_condition,omitempty"`
	// CriminalDataAuthority refers to the ground of Art. 10 on which
	// personal data relating to criminal convictions and offences are
	// processed: the official authority under whose control the processing
	// is carried out, or the Union or Member State law that authorises it
	// and provides appropriate safeguards, e.g. "§ 26 BDSG" or "Regulation
	// on X, Art. 5". It is a reference, not the text. Required when a data
	// category is CriminalOffences.
	CriminalDataAuthority string `json:"art10_authority,omitempty"`
	// DirectMarketing reports that the purpose is direct marketing
	// (including profiling related to it). The subject may then object at
	// any time under Art. 21(2), whatever the Basis, and the objection is
	// absolute: the data must no longer be processed for this purpose
	// (Art. 21(3)), with no weighing of compelling legitimate grounds as
	// under Art. 21(1).
	DirectMarketing bool `json:"direct_marketing,omitempty"`
	// SubjectCategories are the categories of data subjects
	// (Art. 30(1)(c)), e.g. "customers", "employees"; at least one.
	SubjectCategories []string `json:"subject_categories"`
	// DataCategories are the categories of personal data (Art. 30(1)(c));
	// at least one, with IDs unique within the activity.
	DataCategories []Category `json:"data_categories"`
	// Recipients are the recipients or categories of recipients to whom the
	// data are disclosed (Art. 30(1)(d)).
	Recipients []Recipient `json:"recipients,omitempty"`
	// Transfers are the transfers to third countries (Art. 30(1)(e),
	// Art. 44–49).
	Transfers []Transfer `json:"transfers,omitempty"`
	// Retention is the time limit for erasure (Art. 30(1)(f)); required.
	Retention RetentionRule `json:"retention"`
	// Source says where the data come from when they are not collected from
	// the subject (Art. 14(2)(f)); empty or "subject" means collected from
	// the subject.
	Source string `json:"source,omitempty"`
	// AutomatedDecisions describes automated decision-making, including
	// profiling, of Art. 22; nil if there is none.
	AutomatedDecisions *AutomatedDecisions `json:"automated_decisions,omitempty"`
	// SecurityMeasures is a general description of the technical and
	// organisational security measures of Art. 32 (Art. 30(1)(g)).
	SecurityMeasures string `json:"security_measures,omitempty"`
}

// FromSubject reports whether the data are collected from the subject
// (Art. 13) rather than obtained elsewhere (Art. 14).
func (a Activity) FromSubject() bool {
	s := strings.TrimSpace(a.Source)
	return s == "" || s == "subject"
}

// Recipient is a recipient, or a category of recipients, of personal data
// (Art. 4(9), Art. 30(1)(d)).
type Recipient struct {
	// Name names the recipient or the category, e.g. "payment provider".
	Name string `json:"name"`
	// Kind is the recipient's role; required.
	Kind RecipientKind `json:"kind"`
	// Country is the recipient's country as an ISO 3166-1 alpha-2 code,
	// e.g. "DE"; optional.
	Country string `json:"country,omitempty"`
	// Organisation names the international organisation (Art. 4(26)) that
	// the recipient is or belongs to, if any, e.g. "World Health
	// Organization"; optional. The subject is told of recipients in third
	// countries or international organisations (Art. 15(1)(c)).
	Organisation string `json:"organisation,omitempty"`
}

// RecipientKind is the role of a recipient. In JSON it is its string value;
// an unknown value is an error when decoding.
type RecipientKind string

// The recipient kinds.
const (
	// Processor processes data on behalf of the controller (Art. 28).
	Processor RecipientKind = "processor"
	// ThirdParty is a controller in its own right (Art. 4(10)).
	ThirdParty RecipientKind = "third_party"
	// JointController determines purposes and means jointly with the
	// controller (Art. 26).
	JointController RecipientKind = "joint_controller"
	// PublicAuthority is a public authority, e.g. a tax authority.
	PublicAuthority RecipientKind = "public_authority"
)

// RecipientKinds lists the recipient kinds.
func RecipientKinds() []RecipientKind {
	return []RecipientKind{Processor, ThirdParty, JointController, PublicAuthority}
}

// Valid reports whether k is one of the defined kinds.
func (k RecipientKind) Valid() bool {
	switch k {
	case Processor, ThirdParty, JointController, PublicAuthority:
		return true
	}
	return false
}

// MarshalText encodes k; an undefined kind is an error wrapping ErrInvalid.
func (k RecipientKind) MarshalText() ([]byte, error) {
	if !k.Valid() {
		return nil, fmt.Errorf("%w: unknown recipient kind %s", ErrInvalid, showKey(string(k)))
	}
	return []byte(k), nil
}

// UnmarshalText decodes a kind; an undefined kind is an error wrapping
// ErrInvalid.
func (k *RecipientKind) UnmarshalText(text []byte) error {
	v := RecipientKind(text)
	if !v.Valid() {
		return fmt.Errorf("%w: unknown recipient kind %s", ErrInvalid, showKey(string(v)))
	}
	*k = v
	return nil
}

// Transfer is a transfer of personal data to a third country or an
// international organisation (Art. 44–49), with the safeguard it relies on
// (Art. 30(1)(e)). Exactly one of Country and Organisation is set.
type Transfer struct {
	// Country is the third country as an ISO 3166-1 alpha-2 code; required
	// unless Organisation is set, and empty if it is.
	Country string `json:"country,omitempty"`
	// Organisation names the international organisation (Art. 4(26)) the
	// data are transferred to; required unless Country is set, and empty
	// if it is.
	Organisation string `json:"organisation,omitempty"`
	// Recipient names the recipient in that country.
	Recipient string `json:"recipient,omitempty"`
	// Safeguard is the ground of the transfer; required.
	Safeguard Safeguard `json:"safeguard"`
	// Derogation is the derogation of Art. 49(1) a transfer with Safeguard
	// Derogation relies on: a letter "a" to "g" for points (a) to (g) of
	// the first subparagraph (see DerogationPoints), or
	// DerogationLegitimateInterests for the compelling legitimate
	// interests of the second subparagraph, which then needs a Reference to
	// the assessment and the suitable safeguards (Art. 30(1)(e), Art. 49(6)).
	// Required with Safeguard Derogation; empty with every other safeguard.
	Derogation string `json:"derogation,omitempty"`
	// Reference points to the documentation of the safeguard: the adequacy
	// decision, the signed clauses, the approved rules, or for a transfer
	// on compelling legitimate interests the documented assessment and
	// suitable safeguards.
	Reference string `json:"reference,omitempty"`
}

// DerogationLegitimateInterests is the value of Transfer.Derogation for a
// transfer on the compelling legitimate interests of the controller, under
// the second subparagraph of Art. 49(1).
const DerogationLegitimateInterests = "second_subparagraph"

// DerogationPoints lists the values Transfer.Derogation may take: the
// points "a" to "g" of the first subparagraph of Art. 49(1), then
// DerogationLegitimateInterests.
func DerogationPoints() []string {
	return []string{"a", "b", "c", "d", "e", "f", "g", DerogationLegitimateInterests}
}

// validDerogation reports whether d is one of DerogationPoints.
func validDerogation(d string) bool {
	return len(d) == 1 && 'a' <= d[0] && d[0] <= 'g' || d == DerogationLegitimateInterests
}

// Safeguard is the ground on which personal data may be transferred to a
// third country. In JSON it is its string value; an unknown value is an
// error when decoding.
type Safeguard string

// The safeguards.
const (
	// AdequacyDecision: a Commission adequacy decision, Art. 45.
	AdequacyDecision Safeguard = "adequacy_decision"
	// StandardContractualClauses: standard data protection clauses adopted
	// by the Commission, Art. 46(2)(c).
	StandardContractualClauses Safeguard = "standard_contractual_clauses"
	// BindingCorporateRules: binding corporate rules, Art. 47.
	BindingCorporateRules Safeguard = "binding_corporate_rules"
	// Derogation: a derogation for a specific situation, Art. 49; the
	// Transfer names which in its Derogation field.
	Derogation Safeguard = "derogation"
	// OtherAppropriateSafeguard: another appropriate safeguard of Art. 46.
	OtherAppropriateSafeguard Safeguard = "other_appropriate_safeguard"
)

// Safeguards lists the safeguards.
func Safeguards() []Safeguard {
	return []Safeguard{AdequacyDecision, StandardContractualClauses, BindingCorporateRules, Derogation, OtherAppropriateSafeguard}
}

// Valid reports whether s is one of the defined safeguards.
func (s Safeguard) Valid() bool { return s.Article() != "" }

// Article returns the provision of the GDPR, e.g. "Art. 46(2)(c)"; empty
// for an undefined safeguard.
func (s Safeguard) Article() string {
	switch s {
	case AdequacyDecision:
		return "Art. 45"
	case StandardContractualClauses:
		return "Art. 46(2)(c)"
	case BindingCorporateRules:
		return "Art. 47"
	case Derogation:
		return "Art. 49"
	case OtherAppropriateSafeguard:
		return "Art. 46"
	}
	return ""
}

// MarshalText encodes s; an undefined safeguard is an error wrapping
// ErrInvalid.
func (s Safeguard) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("%w: unknown safeguard %s", ErrInvalid, showKey(string(s)))
	}
	return []byte(s), nil
}

// UnmarshalText decodes a safeguard; an undefined one is an error wrapping
// ErrInvalid.
func (s *Safeguard) UnmarshalText(text []byte) error {
	v := Safeguard(text)
	if !v.Valid() {
		return fmt.Errorf("%w: unknown safeguard %s", ErrInvalid, showKey(string(v)))
	}
	*s = v
	return nil
}

// RetentionRule is how long the data of an activity are kept
// (Art. 5(1)(e), Art. 30(1)(f)): a Period, a Description of the criteria
// used (Art. 13(2)(a): "if that is not possible, the criteria used to
// determine that period"), or both. At least one is required.
type RetentionRule struct {
	// Period is how long data are kept after collection or after the event
	// the Description names.
	Period Period `json:"period,omitzero"`
	// Description states the criteria or the starting event, e.g. "after
	// the end of the contract".
	Description string `json:"description,omitempty"`
}

// AutomatedDecisions describes decisions based solely on automated
// processing, including profiling, of Art. 22, as Art. 13(2)(f),
// Art. 14(2)(g) and Art. 15(1)(h) require the subject be told.
type AutomatedDecisions struct {
	// Logic is meaningful information about the logic involved; required.
	Logic string `json:"logic"`
	// Significance states the significance and the envisaged consequences
	// for the subject; required (Art. 13(2)(f), Art. 15(1)(h)).
	Significance string `json:"significance,omitempty"`
}

// PurposeKey returns the activity's purpose: Purpose, or the ID when
// Purpose is empty.
func (a Activity) PurposeKey() Purpose {
	if a.Purpose == "" {
		return Purpose(a.ID)
	}
	return a.Purpose
}

// Activity returns the activity whose purpose (PurposeKey) is p, and
// whether there is one; a nil Register has none. The returned Activity
// shares its slices with the Register: do not modify them.
func (r *Register) Activity(p Purpose) (Activity, bool) {
	if r == nil {
		return Activity{}, false
	}
	for _, a := range r.Activities {
		if a.PurposeKey() == p {
			return a, true
		}
	}
	return Activity{}, false
}

// Clone returns a deep copy of r, which shares no memory with r: either
// may then be modified without affecting the other. Clone of nil is nil.
// Packages that keep a Register they were given may keep a Clone, so that
// later changes by the caller cannot reach them.
func (r *Register) Clone() *Register {
	if r == nil {
		return nil
	}
	c := *r
	c.Representative = clonePtr(r.Representative)
	c.DPO = clonePtr(r.DPO)
	if r.Activities != nil {
		c.Activities = make([]Activity, len(r.Activities))
		for i, a := range r.Activities {
			a.JointControllers = slices.Clone(a.JointControllers)
			a.SubjectCategories = slices.Clone(a.SubjectCategories)
			a.DataCategories = slices.Clone(a.DataCategories)
			a.Recipients = slices.Clone(a.Recipients)
			a.Transfers = slices.Clone(a.Transfers)
			a.AutomatedDecisions = clonePtr(a.AutomatedDecisions)
			c.Activities[i] = a
		}
	}
	return &c
}

// clonePtr returns a pointer to a copy of *p, or nil; for structs of
// values only.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// MaxRegisterSize is the largest register document ParseRegister reads, in bytes.
const MaxRegisterSize = 1 << 20

// ParseRegister reads a Register as JSON from r and validates it. It reads at
// most MaxRegisterSize bytes; a larger document, unknown fields, unknown
// enumeration values, data after the JSON value and malformed JSON are
// errors wrapping ErrInvalid. A register that decodes but fails Validate is
// returned with Validate's *ValidationError, so the caller can list the
// problems; for every other error the Register is nil.
//
// Errors from reading r are returned as they are.
func ParseRegister(r io.Reader) (*Register, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRegisterSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxRegisterSize {
		return nil, fmt.Errorf("%w: register larger than %d bytes", ErrInvalid, MaxRegisterSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var reg Register
	if err := dec.Decode(&reg); err != nil {
		return nil, decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: register: data after the JSON value", ErrInvalid)
	}
	if err := reg.Validate(); err != nil {
		return &reg, err
	}
	return &reg, nil
}

// decodeError turns an encoding/json error into one that wraps ErrInvalid
// and quotes nothing from the document but field names.
func decodeError(err error) error {
	if errors.Is(err, ErrInvalid) {
		// From an UnmarshalText of this package: an enumeration value or a
		// period, which is not personal data.
		return fmt.Errorf("%w: register: %s", ErrInvalid, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%w: register: malformed JSON at byte %d", ErrInvalid, syn.Offset)
	case errors.As(err, &typ):
		// Value is "number 123" for numbers: keep only the kind, since a
		// number in the wrong place may be a telephone number.
		kind, _, _ := strings.Cut(typ.Value, " ")
		at := "document"
		if typ.Field != "" {
			at = truncate(typ.Field, 80)
		}
		return fmt.Errorf("%w: register: %s: JSON %s where %s is expected", ErrInvalid, at, kind, typ.Type)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: register: empty document", ErrInvalid)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: register: truncated JSON", ErrInvalid)
	}
	// Unknown fields: the name is the document's, and may be anything (a
	// value pasted in the wrong place), so it is shown only if key-like.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if s, uerr := strconv.Unquote(name); uerr == nil {
			name = s
		}
		return fmt.Errorf("%w: register: unknown field %s", ErrInvalid, showKey(name))
	}
	return fmt.Errorf("%w: register: invalid JSON", ErrInvalid)
}

// WriteJSON validates r and writes it to w as indented JSON that
// ParseRegister reads back. An invalid Register is not written: the error is
// Validate's.
func (r *Register) WriteJSON(w io.Writer) error {
	if err := r.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// ValidationError lists every problem Validate found in a Register. It
// wraps ErrInvalid.
type ValidationError struct {
	Problems []Problem
}

// Problem is one problem in a Register.
type Problem struct {
	// Path locates the offending value in the JSON form of the Register,
	// e.g. "activities[2].data_categories[0].id"; empty for the Register
	// as a whole.
	Path string
	// Message says what is wrong. It quotes a value from the Register only
	// if it has the form of a key or an enumeration value (lower-case
	// ASCII letters, digits, "_", "." and "-", at most 40 bytes); any other
	// value is "(value not shown)", so that personal data entered in the
	// wrong field are not echoed back.
	Message string
}

// String returns "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Error returns the problems on one line, separated by semicolons.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("gdpr: invalid register: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Validate checks the Register against Art. 30(1) and the rules of this
// package, and reports every problem it finds, not only the first, as a
// *ValidationError; nil if there is none. It checks that:
//
//   - the controller has a name and a contact detail (Art. 30(1)(a)); so
//     do a representative, a DPO (Art. 30(1)(a), Art. 37(7)) and every
//     joint controller of an activity (Art. 30(1)(a), Art. 26);
//   - there is at least one activity, and every activity has a valid ID and
//     Purpose (see Purpose.Validate), each unique in the register;
//   - the basis is valid, and Basis LegitimateInterests has a reference to
//     a legitimate-interest assessment;
//   - a SpecialCondition, if set, is a letter of Art. 9(2), "a" to "j";
//     it is set when a data category is one of Art. 9(1), unless Basis is
//     ExplicitConsent; and condition "a" (explicit consent) comes with
//     Basis ExplicitConsent;
//   - CriminalDataAuthority is set when a data category is CriminalOffences
//     (Art. 10);
//   - there is a subject category and a data category, every data category
//     is valid (Category.Validate) and category IDs are unique in the
//     activity;
//   - recipients have a name and a known kind, transfers a known safeguard,
//     and country codes are two upper-case letters (ISO 3166-1 alpha-2);
//   - a transfer names exactly one of a country and an international
//     organisation; a transfer by Derogation names its point of Art. 49(1)
//     (see DerogationPoints), and one on compelling legitimate interests a
//     Reference; a transfer on another safeguard names no derogation;
//   - the retention has a valid non-zero Period or a Description;
//   - automated decisions, if declared, describe their logic and their
//     significance and envisaged consequences (Art. 15(1)(h)).
func (r *Register) Validate() error {
	v := new(validator)
	if r == nil {
		v.add("", "register is nil")
		return v.err()
	}
	if blank(r.Controller.Name) {
		v.add("controller.name", "controller name is required")
	}
	if !r.Controller.hasContact() {
		v.add("controller", "controller contact details are required (address, email, phone or url)")
	}
	if p := r.Representative; p != nil {
		if blank(p.Name) {
			v.add("representative.name", "representative name is required")
		}
		if !p.hasContact() {
			v.add("representative", "representative contact details are required (address, email, phone or url)")
		}
	}
	if p := r.DPO; p != nil {
		if blank(p.Name) {
			v.add("dpo.name", "data protection officer name (or role title) is required (Art. 30(1)(a))")
		}
		if !p.hasContact() {
			v.add("dpo", "data protection officer contact details are required (address, email, phone or url)")
		}
	}
	if len(r.Activities) == 0 {
		v.add("activities", "at least one processing activity is required")
	}
	ids := make(map[string]int, len(r.Activities))
	purposes := make(map[Purpose]int, len(r.Activities))
	for i, a := range r.Activities {
		at := "activities[" + strconv.Itoa(i) + "]"
		if err := validateID("activity", a.ID); err != nil {
			v.addErr(at+".id", err)
		} else if j, dup := ids[a.ID]; dup {
			v.add(at+".id", fmt.Sprintf("duplicate activity ID %s, first used by activities[%d]", showKey(a.ID), j))
		} else {
			ids[a.ID] = i
		}
		if p := a.PurposeKey(); a.ID == "" && a.Purpose == "" {
			// The ID's own problem is reported above.
		} else if err := p.Validate(); err != nil {
			v.addErr(at+".purpose", err)
		} else if j, dup := purposes[p]; dup {
			v.add(at+".purpose", fmt.Sprintf("duplicate purpose %s, first declared by activities[%d]", showKey(string(p)), j))
		} else {
			purposes[p] = i
		}
		v.activity(at, a)
	}
	return v.err()
}

// validator collects problems.
type validator struct{ problems []Problem }

func (v *validator) add(path, msg string) {
	v.problems = append(v.problems, Problem{Path: path, Message: msg})
}

// addErr adds a problem from an error of this package, which carries no
// personal data, without its ErrInvalid prefix.
func (v *validator) addErr(path string, err error) {
	v.add(path, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

func (v *validator) activity(at string, a Activity) {
	if !a.Basis.Valid() {
		if a.Basis == 0 {
			v.add(at+".basis", "lawful basis is required")
		} else {
			v.add(at+".basis", "unknown lawful basis "+a.Basis.String())
		}
	}
	if a.Basis == LegitimateInterests && blank(a.LegitimateInterestAssessment) {
		v.add(at+".lia_ref", "a legitimate-interest assessment reference is required for basis legitimate_interests (Art. 6(1)(f))")
	}

	for i, jc := range a.JointControllers {
		p := at + ".joint_controllers[" + strconv.Itoa(i) + "]"
		if blank(jc.Name) {
			v.add(p+".name", "joint controller name is required (Art. 30(1)(a))")
		}
		if !jc.hasContact() {
			v.add(p, "joint controller contact details are required (address, email, phone or url)")
		}
	}

	art9, art10 := false, false
	if len(a.SubjectCategories) == 0 {
		v.add(at+".subject_categories", "at least one category of data subjects is required")
	}
	for i, s := range a.SubjectCategories {
		if err := validateID("subject category", s); err != nil {
			v.addErr(at+".subject_categories["+strconv.Itoa(i)+"]", err)
		}
	}
	if len(a.DataCategories) == 0 {
		v.add(at+".data_categories", "at least one category of personal data is required")
	}
	cats := make(map[string]int, len(a.DataCategories))
	for i, c := range a.DataCategories {
		cat := at + ".data_categories[" + strconv.Itoa(i) + "]"
		// The checks of Category.Validate, each with its own path.
		if err := validateID("category", c.ID); err != nil {
			v.addErr(cat+".id", err)
		} else if j, dup := cats[c.ID]; dup {
			v.add(cat+".id", fmt.Sprintf("duplicate data category ID %s, first used by data_categories[%d]", showKey(c.ID), j))
		} else {
			cats[c.ID] = i
		}
		if !c.Special.Valid() {
			v.add(cat+".special", "unknown special category "+showKey(string(c.Special)))
		} else if c.Special == CriminalOffences {
			art10 = true
		} else if c.IsSpecial() {
			art9 = true // an unknown one is reported above, not twice
		}
	}
	switch sc := a.SpecialCondition; {
	case sc != "" && (len(sc) != 1 || sc[0] < 'a' || sc[0] > 'j'):
		v.add(at+".special_condition", "special condition "+showKey(sc)+` is not a letter of Art. 9(2), "a" to "j"`)
	case sc == "a" && a.Basis != ExplicitConsent:
		v.add(at+".special_condition", "condition (a) is explicit consent: use basis explicit_consent")
	case sc == "" && art9 && a.Basis != ExplicitConsent:
		v.add(at+".special_condition", "a condition of Art. 9(2) is required for special categories of data unless the basis is explicit_consent")
	}
	if art10 && blank(a.CriminalDataAuthority) {
		v.add(at+".art10_authority", "criminal-offence data need a reference to the official authority or the law authorising the processing (Art. 10)")
	}

	for i, rc := range a.Recipients {
		p := at + ".recipients[" + strconv.Itoa(i) + "]"
		if blank(rc.Name) {
			v.add(p+".name", "recipient name is required")
		}
		switch {
		case rc.Kind == "":
			v.add(p+".kind", "recipient kind is required")
		case !rc.Kind.Valid():
			v.add(p+".kind", "unknown recipient kind "+showKey(string(rc.Kind)))
		}
		if rc.Country != "" && !isCountryCode(rc.Country) {
			v.add(p+".country", "country is not an ISO 3166-1 alpha-2 code (two upper-case letters)")
		}
	}
	for i, t := range a.Transfers {
		p := at + ".transfers[" + strconv.Itoa(i) + "]"
		switch {
		case t.Country == "" && blank(t.Organisation):
			v.add(p+".country", "country or international organisation of the transfer is required (Art. 30(1)(e))")
		case t.Country != "" && t.Organisation != "":
			v.add(p+".organisation", "a transfer goes to a third country or to an international organisation: set country or organisation, not both")
		case t.Country != "" && !isCountryCode(t.Country):
			v.add(p+".country", "country is not an ISO 3166-1 alpha-2 code (two upper-case letters)")
		}
		switch {
		case t.Safeguard == "":
			v.add(p+".safeguard", "safeguard is required (Art. 45–49)")
		case !t.Safeguard.Valid():
			v.add(p+".safeguard", "unknown safeguard "+showKey(string(t.Safeguard)))
		}
		switch {
		case t.Safeguard == Derogation && t.Derogation == "":
			v.add(p+".derogation", `the derogation of Art. 49(1) is required for safeguard derogation: "a" to "g" or "second_subparagraph"`)
		case t.Safeguard == Derogation && !validDerogation(t.Derogation):
			v.add(p+".derogation", "derogation "+showKey(t.Derogation)+` is not a point of Art. 49(1): "a" to "g" or "second_subparagraph"`)
		case t.Safeguard == Derogation && t.Derogation == DerogationLegitimateInterests && blank(t.Reference):
			v.add(p+".reference", "a transfer on compelling legitimate interests (Art. 49(1), second subparagraph) needs a reference to the assessment and suitable safeguards (Art. 30(1)(e))")
		case t.Safeguard != Derogation && t.Derogation != "":
			v.add(p+".derogation", "a derogation of Art. 49(1) is set only with safeguard derogation")
		}
	}

	if err := a.Retention.Period.Validate(); err != nil {
		v.addErr(at+".retention.period", err)
	} else if a.Retention.Period.IsZero() && blank(a.Retention.Description) {
		v.add(at+".retention", "a retention period or a description of the criteria is required (Art. 30(1)(f))")
	}
	if ad := a.AutomatedDecisions; ad != nil {
		if blank(ad.Logic) {
			v.add(at+".automated_decisions.logic", "information about the logic involved is required (Art. 15(1)(h))")
		}
		if blank(ad.Significance) {
			v.add(at+".automated_decisions.significance", "the significance and the envisaged consequences for the subject are required (Art. 15(1)(h))")
		}
	}
}

// isCountryCode reports whether s has the form of an ISO 3166-1 alpha-2
// code: two upper-case ASCII letters. It does not check the code is assigned.
func isCountryCode(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
