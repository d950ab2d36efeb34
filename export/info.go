package export

import (
	"context"
	"slices"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Information is the supplementary information of Art. 15(1) and (2)
// that an access bundle gives beside the data, drawn from the Register,
// the host's record of actual disclosures and the records themselves. It
// is written to the bundle as information.json and shown in index.html.
// It is the controller's information about the processing; of the
// subject's own data it holds only the references the recipients know
// them by (Disclosure.Reference), which the subject needs to reach their
// data there. The contact details of the controller and its DPO may be
// personal data of the people named.
type Information struct {
	// Controller is the controller: name and contact details (Art. 13(1)(a),
	// which a reply under Art. 15 repeats so the subject knows who answers).
	Controller gdpr.Party `json:"controller"`
	// Representative is the controller's representative in the Union
	// (Art. 27), if any.
	Representative *gdpr.Party `json:"representative,omitempty"`
	// DPO is the data protection officer (Art. 37), if any.
	DPO *gdpr.Party `json:"dpo,omitempty"`
	// Activities are the processing activities under which the subject's
	// data are processed, each with its purposes, categories, recipients,
	// retention, source, automated decisions and transfers: Art. 15(1)(a)
	// to (d), (g), (h) and 15(2). They are the activities the exported
	// records name (Record.Activity) when every record names one of the
	// Register's; otherwise every activity of the Register, since the
	// processing of the other records cannot be narrowed down.
	Activities []ActivityInfo `json:"activities"`
	// Disclosures are the actual recipients of the subject's data the
	// host records (Art. 15(1)(c) as the CJEU reads it in C-154/21: the
	// recipients themselves, not only their categories). Empty when the
	// host records none.
	Disclosures []gdpr.Disclosure `json:"disclosures,omitempty"`
	// Rights are the subject's rights of Art. 15(1)(e) and (f): to ask
	// for rectification, erasure, restriction, to object, and to lodge a
	// complaint with a supervisory authority; and of access and data
	// portability.
	Rights []Right `json:"rights"`
	// Authority is the supervisory authority the subject may complain to
	// (Art. 15(1)(f), Art. 77), when the host names one (WithAuthority).
	Authority *gdpr.Party `json:"authority,omitempty"`
}

// ActivityInfo is one processing activity as Art. 15 describes it to the
// subject.
type ActivityInfo struct {
	// ID is the activity's ID in the Register.
	ID string `json:"id"`
	// Name is the activity's name.
	Name string `json:"name,omitempty"`
	// JointControllers are the controllers that determine the purposes
	// and means with the controller (Art. 26): the subject may exercise
	// their rights against each of them (Art. 26(3)).
	JointControllers []gdpr.Party `json:"joint_controllers,omitempty"`
	// Purpose and Description: the purpose of the processing,
	// Art. 15(1)(a).
	Purpose     gdpr.Purpose `json:"purpose"`
	Description string       `json:"description,omitempty"`
	// Basis is the lawful basis (Art. 13(1)(c)), and BasisArticle its
	// provision, e.g. "Art. 6(1)(b)".
	Basis        gdpr.LawfulBasis `json:"basis"`
	BasisArticle string           `json:"basis_article"`
	// Categories are the categories of personal data concerned,
	// Art. 15(1)(b).
	Categories []gdpr.Category `json:"categories"`
	// Recipients are the recipients or categories of recipients,
	// Art. 15(1)(c).
	Recipients []gdpr.Recipient `json:"recipients,omitempty"`
	// Retention is the period for which the data will be stored, or the
	// criteria used to determine it, Art. 15(1)(d).
	Retention gdpr.RetentionRule `json:"retention"`
	// Source is where the data came from when they were not collected
	// from the subject, Art. 15(1)(g); empty when collected from the
	// subject.
	Source string `json:"source,omitempty"`
	// AutomatedDecisions is the automated decision-making, including
	// profiling, with meaningful information about the logic involved
	// and its significance and envisaged consequences, Art. 15(1)(h);
	// nil when there is none.
	AutomatedDecisions *gdpr.AutomatedDecisions `json:"automated_decisions,omitempty"`
	// Transfers are the transfers to a third country or an international
	// organisation and their safeguards, Art. 15(2).
	Transfers []gdpr.Transfer `json:"transfers,omitempty"`
	// Records counts the subject's records in the bundle that name this
	// activity.
	Records int64 `json:"records"`
}

// Right is one right of the subject, with the article that grants it and
// a sentence that explains it.
type Right struct {
	Article string `json:"article"`
	Name    string `json:"name"`
	Text    string `json:"text"`
}

// rights are the rights of Art. 15(1)(e) and (f), and the two rights a
// bundle itself answers, in the order of the articles.
var rights = []Right{
	{"Art. 15", "Access", "You may ask for a copy of your personal data and for this information at any time."},
	{"Art. 16", "Rectification", "You may ask the controller to correct inaccurate personal data about you, and to complete incomplete data."},
	{"Art. 17", "Erasure", "You may ask the controller to erase your personal data where a ground of Art. 17(1) applies, for instance when the data are no longer needed or you withdraw your consent."},
	{"Art. 18", "Restriction of processing", "You may ask the controller to restrict the processing of your personal data while you contest its accuracy, object to it, or need it kept for a legal claim."},
	{"Art. 20", "Data portability", "You may receive the personal data you provided, where processed on your consent or a contract, in a structured, commonly used and machine-readable format, and have it sent to another controller."},
	{"Art. 21", "Objection", "You may object at any time to processing based on a public task or legitimate interests, on grounds relating to your situation, and to direct marketing without giving reasons."},
	{"Art. 77", "Complaint to a supervisory authority", "You may lodge a complaint with a supervisory authority, in particular in the Member State of your habitual residence, place of work or of the alleged infringement."},
}

// Rights returns the rights a bundle's Information lists, in the order of
// the articles.
func Rights() []Right { return slices.Clone(rights) }

// information assembles the Information for a bundle: the activities the
// records named (counts by activity ID), or all of them when none was
// named, and the disclosures.
func (b *Builder) information(ctx context.Context, subject gdpr.SubjectID, counts map[string]int64, untagged bool) (Information, error) {
	info := Information{Rights: Rights(), Authority: b.authority}
	reg := b.register
	if reg != nil {
		info.Controller = reg.Controller
		info.Representative = reg.Representative
		info.DPO = reg.DPO
		// Narrowed to the activities the records name only when every
		// record names one: a record that names none could be under any.
		named := !untagged
		if named {
			named = false
			for _, a := range reg.Activities {
				if counts[a.ID] > 0 {
					named = true
					break
				}
			}
		}
		for _, a := range reg.Activities {
			if named && counts[a.ID] == 0 {
				continue
			}
			ai := ActivityInfo{
				ID: a.ID, Name: a.Name, JointControllers: a.JointControllers, Purpose: a.PurposeKey(), Description: a.Description,
				Basis: a.Basis, BasisArticle: a.Basis.Article(),
				Categories: a.DataCategories, Recipients: a.Recipients,
				Retention: a.Retention, AutomatedDecisions: a.AutomatedDecisions,
				Transfers: a.Transfers, Records: counts[a.ID],
			}
			if !a.FromSubject() {
				ai.Source = a.Source
			}
			info.Activities = append(info.Activities, ai)
		}
	}
	if info.Activities == nil {
		info.Activities = []ActivityInfo{}
	}
	if b.disclosures != nil {
		d, err := b.disclosures.Disclosures(ctx, subject)
		if err != nil {
			return Information{}, errs.At("disclosures", because(ErrSource, "the record of disclosures failed", err))
		}
		info.Disclosures = d
	}
	return info, nil
}
